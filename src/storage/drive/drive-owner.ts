/**
 * One process per drive. The storage engine assumes it is the only writer of its drives (metadata logs, caches,
 * locks live in the process), so a second gateway started on drives another one is using would lose acknowledged
 * writes. At open, each drive gets `.tiergate.sys/owner.json` naming this process (pid and its start time from
 * /proc, so a recycled pid is not mistaken for the owner); a drive whose owner is another live process is refused
 * with DriveInUse, naming the pid. The file of a dead owner (a SIGKILLed gateway) is taken over. It is removed on
 * shutdown. A drive that cannot be written is skipped here: the pool then finds it offline and runs without it,
 * as it would without this file.
 *
 * Not a cluster mechanism: nodes sharing a namespace reach each other's drives through the storage API
 * (remote/), each drive still owned by one process. Two pools opened on the same drives inside one process are not detected.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { storageError } from '../errors';
import { SYS_VOLUME } from '../layout';

const OWNER_FILE = 'owner.json';

interface Owner {
  format: 'tiergate.owner';
  pid: number;
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat field 22), '' where unknown. */
  started: string;
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command name), or undefined if the process is gone. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return undefined;
  }
}

function alive(owner: Owner): boolean {
  const started = startTime(owner.pid);
  if (started === undefined) return false;
  return owner.started === '' || started === '' || started === owner.started;
}

/** The drives' ownership by this process; `release()` gives them up. */
export class DriveOwnership {
  private constructor(private readonly files: string[]) {}

  /** Takes every drive, or throws DriveInUse (taking none) when another live process owns one. */
  static async take(roots: readonly string[]): Promise<DriveOwnership> {
    const me: Owner = { format: 'tiergate.owner', pid: process.pid, started: startTime(process.pid) ?? '' };
    const body = JSON.stringify(me);
    const taken: string[] = [];
    try {
      for (const root of roots) {
        const dir = join(root, SYS_VOLUME);
        const file = join(dir, OWNER_FILE);
        try {
          await mkdir(dir, { recursive: true });
        } catch {
          continue; // a drive that cannot be written at all: the pool finds it offline and works without it
        }
        for (let attempt = 0; ; attempt++) {
          try {
            const fh = await open(file, 'wx', 0o644);
            await fh.writeFile(body);
            await fh.close();
            taken.push(file);
            break;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) break; // failing drive: as above
          }
          let owner: Owner | undefined;
          try {
            owner = JSON.parse(await readFile(file, 'utf8')) as Owner;
          } catch {
            owner = undefined; // unreadable: written by a process that died mid-write
          }
          if (owner?.format === 'tiergate.owner' && owner.pid !== process.pid && alive(owner)) {
            throw storageError(
              'DriveInUse',
              `drive ${root} is in use by process ${owner.pid}: two gateways must not share drives`,
            );
          }
          if (owner?.pid === process.pid) {
            taken.push(file); // this process already owns it (a pool reopened in-process)
            break;
          }
          await unlink(file).catch(() => undefined); // a dead owner's file: take over
        }
      }
    } catch (err) {
      await new DriveOwnership(taken).release();
      throw err;
    }
    return new DriveOwnership(taken);
  }

  /** Removes this process's owner files (only those still naming it). */
  async release(): Promise<void> {
    await Promise.all(
      this.files.map(async (file) => {
        try {
          const owner = JSON.parse(await readFile(file, 'utf8')) as Owner;
          if (owner.pid === process.pid) await unlink(file);
        } catch {
          // gone already, or not ours
        }
      }),
    );
  }
}
