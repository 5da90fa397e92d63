/** Fan-out over the drives of a set: the one place that runs per-drive work in parallel. */
import type { Drive } from '../drive/drive';

/** Runs `fn` on every present drive in parallel; results by position, undefined where a drive is absent. */
export async function eachDrive<T>(
  drives: readonly (Drive | null)[],
  fn: (drive: Drive, position: number) => Promise<T>,
): Promise<(T | undefined)[]> {
  return Promise.all(drives.map(async (d, p) => (d ? fn(d, p) : undefined)));
}

/** Best-effort variant for cleanup: failures are ignored (the healer or boot recovery finishes the job). */
export async function eachDriveQuiet(
  drives: readonly (Drive | null)[],
  fn: (drive: Drive, position: number) => Promise<unknown>,
): Promise<void> {
  await Promise.all(drives.map(async (d, p) => (d ? fn(d, p).catch(() => undefined) : undefined)));
}

/** True/false by position: whether `fn` succeeded on that drive (absent drives count as failed). */
export async function eachDriveOk(
  drives: readonly (Drive | null)[],
  fn: (drive: Drive, position: number) => Promise<unknown>,
): Promise<boolean[]> {
  return Promise.all(
    drives.map(async (d, p) => {
      if (!d) return false;
      try {
        await fn(d, p);
        return true;
      } catch {
        return false;
      }
    }),
  );
}
