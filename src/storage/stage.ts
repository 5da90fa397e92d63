/**
 * Temp staging of a write on every drive of a set: `.tiergate.sys/tmp/<stageId>/data/part.N` shard files, plus a
 * mark naming the object. Staging happens without any lock; only the commit (rename into the object directory, then
 * metadata) takes the object's write lock. The mark lets boot recovery find and heal the objects whose writes a crash
 * interrupted: it is durable before anything of the write is committed, and removed once the write is done. The
 * removal is not waited for on disk (it joins the drive log's next batch): a mark that comes back after a crash only
 * names an object whose heal finds nothing to do.
 *
 * A mark is a record in the drive's metadata log (system volume, `stage-marks/<stageId>`): one group-committed
 * append. (It used to be a `target` file in the staging directory: a file written, fsynced and renamed, its
 * directory created and fsynced, on every drive, for every large PUT and every release to a tier. Boot recovery
 * still reads those.)
 */
import { randomUUID } from 'node:crypto';
import type { Drive, FileWriter } from './drive/drive';
import type { ShardSink } from './erasure/encoder';
import { STAGE_MARKS, SYS_VOLUME, TMP_DIR, partFileName } from './layout';
import { eachDriveQuiet } from './util/each-drive';

/** Contents of a stage mark (and of a legacy staging `target` file). */
export interface StageTarget {
  format: 'tiergate.stage';
  version: 1;
  bucket: string;
  key: string;
}

/** A stage mark's (or legacy target file's) contents, or undefined when they are not one. */
export function parseStageTarget(bytes: Buffer): StageTarget | undefined {
  try {
    const t = JSON.parse(bytes.toString()) as Partial<StageTarget>;
    return t.format === 'tiergate.stage' && typeof t.bucket === 'string' && typeof t.key === 'string'
      ? (t as StageTarget)
      : undefined;
  } catch {
    return undefined;
  }
}

/** One write being staged across the drives of a set. */
export class Stage {
  readonly id = randomUUID();
  /** Drive positions still healthy for this write. */
  readonly ok: boolean[];
  private writers: (FileWriter | null)[] = [];
  /** Whether anything may have made the staging directory (a stage that only marks, like a release, never does). */
  private staged = false;

  private constructor(private readonly drives: (Drive | null)[]) {
    this.ok = drives.map((d) => d !== null);
  }

  /** Relative path (in the system volume) of the staged data directory. */
  get dataPath(): string {
    return `${TMP_DIR}/${this.id}/data`;
  }

  /** Relative path of the whole staging directory. */
  get rootPath(): string {
    return `${TMP_DIR}/${this.id}`;
  }

  /** Path (in the system volume) of this stage's mark. */
  get markPath(): string {
    return `${STAGE_MARKS}/${this.id}`;
  }

  /** Marks the write on every drive (durably); a drive that fails is dropped. */
  static async create(drives: (Drive | null)[], bucket: string, key: string): Promise<Stage> {
    const stage = new Stage(drives);
    const target: StageTarget = { format: 'tiergate.stage', version: 1, bucket, key };
    const body = Buffer.from(JSON.stringify(target));
    await Promise.all(
      drives.map(async (d, p) => {
        if (!d) return;
        try {
          await d.writeMeta(SYS_VOLUME, stage.markPath, stage.markPath, body, { fresh: true });
        } catch {
          stage.ok[p] = false;
        }
      }),
    );
    return stage;
  }

  /** Opens part `partNumber`'s shard file on every healthy drive; sinks are returned by drive position. */
  async openPart(partNumber: number): Promise<(ShardSink | null)[]> {
    this.staged = true;
    this.writers = await Promise.all(
      this.drives.map(async (d, p) => {
        if (!d || !this.ok[p]) return null;
        try {
          return await d.createFile(SYS_VOLUME, `${this.dataPath}/${partFileName(partNumber)}`);
        } catch {
          this.ok[p] = false;
          return null;
        }
      }),
    );
    return this.writers.map((w, p) =>
      w === null
        ? null
        : {
            write: async (frames: Buffer[], position: number) => {
              try {
                await w.write(frames, position);
              } catch (err) {
                this.ok[p] = false;
                throw err;
              }
            },
          },
    );
  }

  /** Flushes and closes the open part files; a drive whose flush fails is dropped. */
  async closePart(): Promise<void> {
    await Promise.all(
      this.writers.map(async (w, p) => {
        if (!w) return;
        if (!this.ok[p]) {
          await w.abort();
          return;
        }
        try {
          await w.close();
        } catch {
          this.ok[p] = false;
        }
      }),
    );
    this.writers = [];
  }

  /** Hard-links an existing file (a multipart part's shards) into the staged data dir as part `partNumber`. */
  async linkPart(position: number, srcVolume: string, srcPath: string, partNumber: number): Promise<void> {
    const d = this.drives[position];
    if (!d || !this.ok[position]) return;
    this.staged = true;
    try {
      await d.link(srcVolume, srcPath, SYS_VOLUME, `${this.dataPath}/${partFileName(partNumber)}`);
    } catch {
      this.ok[position] = false;
    }
  }

  /** Number of drives still healthy. */
  get okCount(): number {
    return this.ok.filter(Boolean).length;
  }

  /**
   * Removes the staging directory and the mark everywhere (best effort: boot recovery wipes what is left, and a mark
   * left behind only heals an object that needs nothing).
   */
  async discard(): Promise<void> {
    await Promise.all(this.writers.map(async (w) => w?.abort()));
    await eachDriveQuiet(this.drives, async (d) => {
      if (this.staged) await d.delete(SYS_VOLUME, this.rootPath, { recursive: true });
      // Not waited for on disk: a mark that comes back after a crash only heals an object that needs nothing.
      await d.deleteMeta(SYS_VOLUME, this.markPath, { durable: false });
    });
  }
}
