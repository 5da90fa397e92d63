/**
 * Drive identity: `.tiergate.sys/format.json` on every drive names the deployment, the drive's own id and the
 * whole layout (drive ids by set and position). At boot the drives are placed by the id they carry, not by the
 * order they are configured in, so swapped mount points still land in their set and position. A drive from another
 * deployment is refused (never overwritten); an empty drive in a formatted deployment is taken as a replacement:
 * formatted with the id of the position it fills and marked for healing.
 *
 *     {"format":"tiergate","version":1,"deploymentId":"<uuid>","id":"<uuid>","sets":[["<uuid>",...],...],
 *      "parity":2}
 */
import { randomUUID } from 'node:crypto';
import type { Drive } from './drive/drive';
import { isStorageError, storageError } from './errors';
import { FORMAT_FILE, SYS_VOLUME } from './layout';

/** Current format file version. */
export const FORMAT_VERSION = 1;
/** Marker of a drive that was replaced and still needs its set healed. */
export const HEALING_FILE = 'healing.json';

/** The format file. */
export interface FormatFile {
  format: 'tiergate';
  version: number;
  deploymentId: string;
  id: string;
  sets: string[][];
  parity: number;
}

/** The result of formatting / checking all drives at boot. */
export interface Layout {
  deploymentId: string;
  parity: number;
  /** Drives by set and position; null where a drive is offline or refused. */
  sets: (Drive | null)[][];
  /** Drives (by set and position) freshly formatted as replacements, which need a set heal. */
  healing: boolean[][];
}

function parseFormat(buf: Buffer): FormatFile {
  let f: FormatFile;
  try {
    f = JSON.parse(buf.toString('utf8')) as FormatFile;
  } catch {
    throw storageError('InvalidFormat', 'format.json is not JSON');
  }
  if (f.format !== 'tiergate' || typeof f.deploymentId !== 'string' || !Array.isArray(f.sets)) {
    throw storageError('InvalidFormat', 'format.json is not a tiergate format file');
  }
  if (f.version !== FORMAT_VERSION)
    throw storageError('InvalidFormat', `format.json version ${f.version} is not supported`);
  return f;
}

async function writeFormat(drive: Drive, f: FormatFile): Promise<void> {
  await drive.makeVolume(SYS_VOLUME);
  await drive.writeFileAtomic(SYS_VOLUME, FORMAT_FILE, Buffer.from(JSON.stringify(f, null, 2)));
}

/** Reads, checks and where needed writes the format of every drive, and places the drives into sets. */
export async function loadLayout(
  drives: Drive[],
  setDriveCount: number,
  parity: number,
  log: (level: 'info' | 'warn' | 'error', message: string) => void,
  /** False on the nodes of a cluster that must wait for the first drive's node to format a fresh deployment. */
  mayFormat = true,
): Promise<Layout> {
  if (drives.length % setDriveCount !== 0) {
    throw storageError(
      'InvalidArgument',
      `${drives.length} drives cannot be split into sets of ${setDriveCount}`,
    );
  }
  const found = await Promise.all(
    drives.map(async (d): Promise<FormatFile | null | Error> => {
      try {
        return parseFormat(await d.readFile(SYS_VOLUME, FORMAT_FILE));
      } catch (err) {
        if (isStorageError(err, 'FileNotFound')) return null;
        return err as Error;
      }
    }),
  );
  const formatted = found.filter((f): f is FormatFile => f !== null && !(f instanceof Error));

  if (formatted.length === 0) {
    if (!mayFormat) throw storageError('UnformattedDrive', 'the deployment is not formatted yet');
    const unformatted = found.filter((f) => f === null).length;
    if (unformatted <= drives.length / 2) {
      throw storageError(
        'UnformattedDrive',
        `only ${unformatted} of ${drives.length} drives are reachable to format`,
      );
    }
    const deploymentId = randomUUID();
    const ids = drives.map(() => randomUUID());
    const sets = chunk(ids, setDriveCount);
    await Promise.all(
      drives.map(async (d, i) => {
        if (found[i] !== null) return;
        await writeFormat(d, {
          format: 'tiergate',
          version: FORMAT_VERSION,
          deploymentId,
          id: ids[i],
          sets,
          parity,
        });
      }),
    );
    log(
      'info',
      `formatted ${drives.length} drives: deployment ${deploymentId}, ${sets.length} set(s) of ${setDriveCount}`,
    );
    return {
      deploymentId,
      parity,
      sets: chunk(
        drives.map((d, i) => (found[i] === null ? d : null)),
        setDriveCount,
      ),
      healing: chunk(
        drives.map(() => false),
        setDriveCount,
      ),
    };
  }

  // The reference format is the layout most formatted drives agree on.
  const votes = new Map<string, { f: FormatFile; count: number }>();
  for (const f of formatted) {
    const id = `${f.deploymentId}|${JSON.stringify(f.sets)}|${f.parity}`;
    const v = votes.get(id) ?? { f, count: 0 };
    v.count++;
    votes.set(id, v);
  }
  const ref = [...votes.values()].sort((a, b) => b.count - a.count)[0];
  if (ref.count < Math.ceil(drives.length / 2)) {
    throw storageError('InvalidFormat', `no format quorum: ${ref.count} of ${drives.length} drives agree`);
  }
  const layout = ref.f;
  const total = layout.sets.reduce((n, s) => n + s.length, 0);
  if (total !== drives.length || layout.sets[0].length !== setDriveCount) {
    throw storageError(
      'InvalidFormat',
      `the deployment was formatted with ${layout.sets.length} set(s) of ${layout.sets[0].length} drives; ` +
        `${drives.length} drives in sets of ${setDriveCount} are configured`,
    );
  }
  const position = new Map<string, [number, number]>();
  layout.sets.forEach((set, s) => set.forEach((id, p) => position.set(id, [s, p])));
  const sets: (Drive | null)[][] = layout.sets.map((set) => set.map(() => null));
  const healing: boolean[][] = layout.sets.map((set) => set.map(() => false));
  const unplaced: number[] = [];
  drives.forEach((d, i) => {
    const f = found[i];
    if (f instanceof Error) {
      log('error', `drive ${d.endpoint}: ${f.message}; treating it as offline`);
      return;
    }
    if (f === null) {
      unplaced.push(i);
      return;
    }
    if (f.deploymentId !== layout.deploymentId) {
      log(
        'error',
        `drive ${d.endpoint} belongs to deployment ${f.deploymentId}, not ${layout.deploymentId}; refusing it`,
      );
      return;
    }
    const at = position.get(f.id);
    if (!at) {
      log('error', `drive ${d.endpoint} has id ${f.id}, unknown to this deployment's layout; refusing it`);
      return;
    }
    if (sets[at[0]][at[1]]) {
      log('error', `drive ${d.endpoint} duplicates drive id ${f.id}; refusing it`);
      return;
    }
    if (at[0] * setDriveCount + at[1] !== i)
      log('warn', `drive ${d.endpoint} was moved; placing it by its id`);
    sets[at[0]][at[1]] = d;
  });
  // Empty drives take the positions nobody claimed, preferring their configured position.
  for (const i of unplaced) {
    const want: [number, number] = [Math.floor(i / setDriveCount), i % setDriveCount];
    let at: [number, number] | undefined = sets[want[0]][want[1]] ? undefined : want;
    if (!at) {
      for (let s = 0; s < sets.length && !at; s++) {
        for (let p = 0; p < sets[s].length && !at; p++) if (!sets[s][p]) at = [s, p];
      }
    }
    if (!at) continue;
    const d = drives[i];
    try {
      await writeFormat(d, { ...layout, id: layout.sets[at[0]][at[1]] });
      await d.writeFileAtomic(
        SYS_VOLUME,
        HEALING_FILE,
        Buffer.from(JSON.stringify({ since: new Date().toISOString() })),
      );
      sets[at[0]][at[1]] = d;
      healing[at[0]][at[1]] = true;
      log(
        'warn',
        `drive ${d.endpoint} is new; formatted as set ${at[0]} position ${at[1]}, queued for healing`,
      );
    } catch (err) {
      log('error', `drive ${d.endpoint}: cannot format: ${(err as Error).message}`);
    }
  }
  // Drives that were replaced earlier and whose heal did not finish.
  await Promise.all(
    sets.flatMap((set, s) =>
      set.map(async (d, p) => {
        if (!d || healing[s][p]) return;
        try {
          await d.readFile(SYS_VOLUME, HEALING_FILE);
          healing[s][p] = true;
        } catch {
          // not healing
        }
      }),
    ),
  );
  return { deploymentId: layout.deploymentId, parity: layout.parity, sets, healing };
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
