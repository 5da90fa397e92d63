/**
 * Boot recovery of interrupted writes, on the drives this process owns: every write marks its object before it
 * stages or commits anything (stage.ts), so the marks a crash left name exactly the objects to heal. Marks are
 * metadata log records (`stage-marks/<id>` in the system volume); older builds wrote a `target` file into each
 * staging directory under `tmp/`, which is still read. Temp staging is wiped; a mark goes once its object is healed,
 * and one whose heal failed stays for the next boot.
 */
import type { Drive } from './drive/drive';
import type { HealResult } from './object-layer';
import { STAGE_MARKS, SYS_VOLUME, TMP_DIR } from './layout';
import { parseStageTarget, type StageTarget } from './stage';

type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

/** Heals every object an interrupted write on `drives` left, then clears its staging and marks. */
export async function recoverInterruptedWrites(
  drives: Drive[],
  heal: (bucket: string, key: string) => Promise<HealResult>,
  log: Log,
): Promise<void> {
  const targets = new Map<string, StageTarget>();
  const add = (t: StageTarget | undefined): string | undefined => {
    if (!t) return undefined;
    const object = `${t.bucket}/${t.key}`;
    targets.set(object, t);
    return object;
  };
  await Promise.all(drives.map(async (d) => (await legacyTargets(d)).forEach(add)));
  const marks = await Promise.all(
    drives.map(async (d) => ({
      d,
      found: (await stageMarks(d)).map(({ mark, target }) => ({ mark, object: add(target) })),
    })),
  );
  const unhealed = new Set<string>();
  for (const [object, t] of targets) {
    try {
      const r = await heal(t.bucket, t.key);
      log(
        'info',
        `recovered interrupted write of ${object} (${r.danglingRemoved.length} leftover versions, ${r.orphansRemoved} orphaned data dirs removed)`,
      );
    } catch (err) {
      unhealed.add(object);
      log('warn', `recovery of ${object}: ${(err as Error).message}`);
    }
  }
  for (const { d, found } of marks) {
    for (const { mark, object } of found) {
      if (object === undefined || !unhealed.has(object))
        await d.deleteMeta(SYS_VOLUME, mark).catch(() => undefined);
    }
  }
}

/** The `target` files older builds wrote into staging directories; the whole temp area is wiped after reading. */
async function legacyTargets(d: Drive): Promise<(StageTarget | undefined)[]> {
  let stages: string[];
  try {
    stages = await d.list(SYS_VOLUME, TMP_DIR);
  } catch {
    return [];
  }
  const out: (StageTarget | undefined)[] = [];
  for (const s of stages) {
    // A temp file, not a staging directory, has no target to read.
    const bytes = await d.readFile(SYS_VOLUME, `${TMP_DIR}/${s.replace(/\/$/, '')}/target`).catch(() => null);
    if (bytes) out.push(parseStageTarget(bytes));
  }
  await d.delete(SYS_VOLUME, TMP_DIR, { recursive: true }).catch(() => undefined);
  return out;
}

/** The stage marks in a drive's log (a mark this build cannot read has no target and is removed all the same). */
async function stageMarks(d: Drive): Promise<{ mark: string; target?: StageTarget }[]> {
  const out: { mark: string; target?: StageTarget }[] = [];
  try {
    for await (const e of d.walk(SYS_VOLUME, { prefix: `${STAGE_MARKS}/`, recursive: true })) {
      out.push({ mark: e.key, target: e.meta && parseStageTarget(e.meta) });
    }
  } catch {
    // an unreadable drive: its marks stay for the next boot
  }
  return out;
}
