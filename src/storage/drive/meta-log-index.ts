/**
 * The metadata log's in-memory index (meta-log.ts): per volume, where the log holds each object directory's record,
 * by directory and by key, and the volume's keys in S3 byte order for listings. Rebuilt by replay at open.
 */
import { SortedKeys } from '../util/sorted-keys';
import type { LogEntry } from './meta-log-segment';

class VolumeIndex {
  readonly byDir = new Map<string, LogEntry>();
  readonly byKey = new Map<string, LogEntry>();
  readonly keys = new SortedKeys();
}

export class LogIndex {
  private readonly volumes = new Map<string, VolumeIndex>();

  /** `dropped` is told of every entry a set or delete replaces or removes (its record is dead from then on). */
  constructor(private readonly dropped: (old: LogEntry) => void) {}

  get(volume: string, dir: string): LogEntry | undefined {
    return this.volumes.get(volume)?.byDir.get(dir);
  }

  byKey(volume: string, key: string): LogEntry | undefined {
    return this.volumes.get(volume)?.byKey.get(key);
  }

  /** The smallest key of the volume strictly after `after` (the first when undefined). */
  nextKey(volume: string, after: string | undefined): string | undefined {
    return this.volumes.get(volume)?.keys.next(after);
  }

  /** The smallest key of the volume that is >= `key`. */
  ceilKey(volume: string, key: string): string | undefined {
    return this.volumes.get(volume)?.keys.ceil(key);
  }

  /** Number of objects the log holds for a volume. */
  count(volume: string): number {
    return this.volumes.get(volume)?.byDir.size ?? 0;
  }

  /** The object directories the log holds for a volume (a copy). */
  dirs(volume: string): string[] {
    return [...(this.volumes.get(volume)?.byDir.keys() ?? [])];
  }

  set(entry: LogEntry): void {
    let vol = this.volumes.get(entry.volume);
    if (!vol) this.volumes.set(entry.volume, (vol = new VolumeIndex()));
    const old = vol.byDir.get(entry.dir);
    if (old) this.dropped(old);
    vol.byDir.set(entry.dir, entry);
    vol.byKey.set(entry.key, entry);
    if (!old) vol.keys.add(entry.key);
  }

  delete(volume: string, dir: string): void {
    const vol = this.volumes.get(volume);
    const old = vol?.byDir.get(dir);
    if (!vol || !old) return;
    this.dropped(old);
    vol.byDir.delete(dir);
    vol.byKey.delete(old.key);
    vol.keys.delete(old.key);
    if (vol.byDir.size === 0) this.volumes.delete(volume);
  }
}
