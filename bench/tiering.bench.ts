/**
 * Tiering benchmark (issue 6). One process runs, against one s3rver (in-process, behind our wire tap, files on a
 * temp dir), both sides of each comparison with the same bytes and the same number in flight:
 *   1. transition MB/s of 64 MiB objects: the lifecycle engine moving them (read from a 4+2 erasure set on 6 temp
 *      drives, fsync on, encrypted with the local KMS, uploaded by the S3 tier's lib-storage multipart upload,
 *      verified (by the PutObject's ETag, or a HEAD after multipart), committed, local shards freed), timed from the moment the rule that makes them due is
 *      stored until the engine has reported every one done (checked remote by a listing afterwards); next to plain `@aws-sdk/lib-storage` uploads of the same bytes from memory
 *      at the same part size and queue size (target: at least 0.7x);
 *   2. transitions per second of 200 KiB objects, the same way, next to plain PutObject calls of the same payloads
 *      (target: at least 0.5x);
 *   3. read-through GET MB/s of a transitioned 64 MiB object (whole-object reads through the ObjectLayer: tier GET,
 *      unseal, decrypt and authenticate every package), next to plain GetObject of a same-size object for context.
 * Both sides run as many at once as the engine does: ENGINE_CONCURRENCY.transition (16) for small objects, and for
 * 64 MiB ones the uploads whose part buffers fit its TRANSITION_UPLOAD_MEMORY (4); the engine's scan and queueing are
 * inside its timing. Every timed run starts with the page cache flushed (flushPageCache).
 *
 * Run with `npm run bench:tiering`; pass section names to run a subset (`node dist/bench/tiering.bench.js small`;
 * `read` runs the large transitions first, unprinted). Loopback only; the embedded redis-server, s3rver and the temp directory are
 * stopped and removed at the end, on error and on Ctrl-C.
 */
import { readFileSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Redis } from 'ioredis';
import { Md5Hasher } from '../src/common/md5-hasher';
import { LocalKms } from '../src/kms/local-kms';
import { ENGINE_CONCURRENCY, LifecycleEngine } from '../src/lifecycle/engine/lifecycle-engine';
import { TRANSITION_UPLOAD_MEMORY } from '../src/lifecycle/engine/transition';
import { JobQueues } from '../src/lifecycle/queues/job-queues';
import { parseLifecycleConfiguration } from '../src/lifecycle/rules/parse-lifecycle';
import { encodeLifecycle } from '../src/lifecycle/rules/stored-lifecycle';
import { EmbeddedRedis } from '../src/redis/embedded-redis';
import { openObjectLayer, type ErasurePool } from '../src/storage/pool';
import { createTierBackend } from '../src/tiers/create-tier-backend';
import { fixedTiers } from '../src/tiers/read-through';
import type { TierBackend } from '../src/tiers/tier-backend';
import { NO_TIER_OBSERVER, type TierObserver } from '../src/tiers/tier-observer';
import { S3RVER_KEYS, startS3rver, type S3rverServer } from '../test/fixtures/cloud/s3rver-server';
import { environmentLines, flushPageCache, fmt, MiB, mbps, runConcurrent, since } from './lib/measure';

const BUCKET = 'bench';
const CLOUD_BUCKET = 'tier';
const TIER = 'COLD';
const PART_SIZE = 8 * MiB;
const QUEUE_SIZE = 2;
const CONCURRENCY = ENGINE_CONCURRENCY.transition;
const LARGE_SIZE = 64 * MiB;
const LARGE_COUNT = 8;
const SMALL_SIZE = 200 * 1024;
const SMALL_COUNT = 400;
const READ_ROUNDS = 3;
const TARGETS = { large: 0.7, small: 0.5 };
/** A run that has not finished by then has hung: the bench fails instead of waiting forever. */
const RUN_TIMEOUT_MS = 10 * 60_000;

function title(text: string): void {
  console.log(`\n== ${text}`);
}

function verdict(ratio: number, target: number): string {
  return `${ratio.toFixed(2)}x (target >= ${target}x: ${ratio >= target ? 'MET' : 'MISSED'})`;
}

/** Distinct, incompressible payloads (a counter in the first bytes of a shared random block). */
function payload(base: Buffer, i: number): Buffer {
  const out = Buffer.from(base);
  out.writeUInt32BE(i, 0);
  return out;
}

/** Counts the engine's completed transitions (its TierObserver), so a run is timed without polling the namespace. */
class TransitionCounter {
  private count = 0;
  private waiters: { target: number; resolve: () => void }[] = [];

  readonly observer: TierObserver = {
    ...NO_TIER_OBSERVER,
    transitioned: () => {
      this.count++;
      this.waiters = this.waiters.filter((w) => (this.count >= w.target ? (w.resolve(), false) : true));
    },
  };

  get done(): number {
    return this.count;
  }

  /** Resolves once `target` transitions have completed since the counter was created. */
  reached(target: number): Promise<void> {
    if (this.count >= target) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ target, resolve }));
  }
}

interface Rig {
  root: string;
  transitions: TransitionCounter;
  redis: EmbeddedRedis;
  client: Redis;
  s3rver: S3rverServer;
  backend: TierBackend;
  md5: Md5Hasher;
  pool: ErasurePool;
  queues: JobQueues;
  engine: LifecycleEngine;
  sdk: S3Client;
}

async function openRig(root: string): Promise<Rig> {
  const redis = await EmbeddedRedis.start({ dir: path.join(root, 'redis') });
  const client = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: null });
  const s3rver = await startS3rver([CLOUD_BUCKET]);
  const definition = {
    name: TIER,
    type: 's3' as const,
    endpoint: s3rver.endpoint,
    region: 'us-east-1',
    bucket: CLOUD_BUCKET,
    prefix: 'tiergate/',
    storageClass: 'STANDARD',
    ...S3RVER_KEYS,
  };
  // s3rver stores aws-chunked framing as data: both sides send plain bodies (checksums when required only).
  // Uploads are hashed on a worker, as the app's tier registry does.
  const md5 = new Md5Hasher();
  const backend = createTierBackend(definition, {
    s3: { checksums: 'when-required', partSize: PART_SIZE, queueSize: QUEUE_SIZE },
    md5,
  });
  const drives = Array.from({ length: 6 }, (_, i) => path.join(root, `drive-${i + 1}`));
  await Promise.all(drives.map((d) => fsp.mkdir(d, { recursive: true })));
  const pool = await openObjectLayer({ drives, setDriveCount: 6, parity: 2 });
  const queues = new JobQueues({ connection: client, prefix: 'bench' });
  const kms = LocalKms.fromMasterKey(Buffer.alloc(32, 9));
  const transitions = new TransitionCounter();
  const engine = new LifecycleEngine(
    pool,
    queues,
    client,
    { daySeconds: 1, scannerIntervalSeconds: 3600, prefix: 'bench' },
    undefined,
    { tiers: fixedTiers({ [TIER]: backend }), kms, observer: transitions.observer },
  );
  engine.start();
  await pool.makeBucket(BUCKET);
  const sdk = new S3Client({
    endpoint: s3rver.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEYS.accessKey, secretAccessKey: S3RVER_KEYS.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return { root, transitions, redis, client, s3rver, backend, md5, pool, queues, engine, sdk };
}

async function closeRig(rig: Partial<Rig>): Promise<void> {
  rig.sdk?.destroy();
  await rig.engine?.close();
  await rig.queues?.close();
  rig.client?.disconnect();
  rig.backend?.close();
  await rig.md5?.close();
  await rig.pool?.shutdown();
  await rig.s3rver?.close();
  await rig.redis?.stop();
}

/** A timed run: wall time, and this process's main-thread CPU time over it (both sides run on this thread). */
interface Timed {
  ms: number;
  cpuMs: number;
}

/** CPU time of this process's main thread so far, in ms (/proc/self/schedstat: nanoseconds on CPU). */
function mainThreadCpuMs(): number {
  return Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[0]) / 1e6;
}

/**
 * BENCH_CPU_PROF=<dir> writes a CPU profile of each timed transition window (`transitions-<prefix>.cpuprofile`, for
 * Chrome DevTools); the profiler's own cost is in the figures of that run.
 */
async function startProfile(): Promise<((name: string) => Promise<void>) | undefined> {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async (name) => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(
      path.join(dir, `transitions-${name.replace(/\W/g, '')}.cpuprofile`),
      JSON.stringify(profile),
    );
  };
}

/**
 * Writes `count` objects of `size` under `prefix` (not timed), lets them age past one lifecycle day, then stores a
 * rule that makes them all due now and times until every one is remote. Returns the elapsed ms and the main
 * thread's CPU ms over them.
 */
async function timeTransitions(rig: Rig, prefix: string, size: number, count: number): Promise<Timed> {
  const base = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) base.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
  await runConcurrent(count, 4, async (i) => {
    await rig.pool.putObject(BUCKET, `${prefix}${i}`, Readable.from([payload(base, i)]), { size });
  });
  // Due one lifecycle day after the next day boundary: two seconds is enough.
  await new Promise((r) => setTimeout(r, 2_100));
  const rule =
    `<LifecycleConfiguration><Rule><ID>${prefix}</ID><Filter><And><Prefix>${prefix}</Prefix>` +
    `<ObjectSizeGreaterThan>1</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status>` +
    `<Transition><Days>1</Days><StorageClass>${TIER}</StorageClass></Transition></Rule></LifecycleConfiguration>`;
  const config = parseLifecycleConfiguration(rule, { isKnownStorageClass: (n) => n === TIER });
  // Untimed: the 64 MiB section leaves about a gigabyte dirty (measured), which ext4 would otherwise write back
  // behind the fsyncs of whichever side syncs (the drives do, s3rver does not).
  await flushPageCache();
  const target = rig.transitions.done + count;
  const stopProfile = await startProfile();
  const cpu0 = mainThreadCpuMs();
  const t0 = performance.now();
  await rig.pool.putBucketLifecycle(BUCKET, encodeLifecycle(config));
  // Timed by the engine's own count of completed transitions: listing the namespace to find out (as a client would)
  // costs as much as the transitions being measured, on the same two cores.
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      rig.transitions.reached(target),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const done = count - (target - rig.transitions.done);
          reject(new Error(`only ${done} of ${count} objects transitioned in ${RUN_TIMEOUT_MS / 1000} s`));
        }, RUN_TIMEOUT_MS);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
  const ms = since(t0);
  const cpuMs = mainThreadCpuMs() - cpu0;
  await stopProfile?.(prefix);
  // Then checked, untimed: every object of the run reports the tier.
  const listed = await rig.pool.listObjects(BUCKET, { prefix, maxKeys: 1000 });
  const local =
    listed.objects.filter((o) => o.storageClass !== TIER).length + (count - listed.objects.length);
  if (local > 0) throw new Error(`${local} of ${count} objects under ${prefix} are not in the tier`);
  await rig.pool.deleteBucketLifecycle(BUCKET);
  return { ms, cpuMs };
}

/**
 * How many uploads of `size` bytes the engine runs at once: its transition concurrency, or fewer when their part
 * buffers would not fit its upload memory budget together.
 */
function engineInFlight(backend: TierBackend, size: number): number {
  const each = backend.putMemory(size);
  return each === 0
    ? CONCURRENCY
    : Math.max(1, Math.min(CONCURRENCY, Math.floor(TRANSITION_UPLOAD_MEMORY / each)));
}

/** Plain uploads of the same sizes to the same s3rver, `count` at a time, as many in flight as the engine runs. */
async function timePlainUploads(rig: Rig, prefix: string, size: number, count: number): Promise<Timed> {
  const base = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) base.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
  await flushPageCache(); // (see timeTransitions)
  const cpu0 = mainThreadCpuMs();
  const t0 = performance.now();
  await runConcurrent(count, engineInFlight(rig.backend, size), async (i) => {
    const Body = payload(base, i);
    const Key = `plain/${prefix}${i}`;
    if (size <= PART_SIZE) {
      await rig.sdk.send(new PutObjectCommand({ Bucket: CLOUD_BUCKET, Key, Body }));
    } else {
      await new Upload({
        client: rig.sdk,
        params: { Bucket: CLOUD_BUCKET, Key, Body },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
      }).done();
    }
  });
  return { ms: since(t0), cpuMs: mainThreadCpuMs() - cpu0 };
}

/**
 * Main-thread CPU per object of both sides, and their ratio (information: the verdict is on the rates). Each side's
 * figure includes s3rver's handling of its requests (same thread) and leaves out the thread pool and redis-server.
 */
function cpuLine(plain: Timed, tier: Timed, count: number): string {
  const p = plain.cpuMs / count;
  const t = tier.cpuMs / count;
  return (
    `   main-thread CPU per object: plain ${fmt(p, 2, 0)} ms, transition ${fmt(t, 2, 0)} ms ` +
    `(plain / transition ${(p / t).toFixed(2)}; s3rver's work included; the rate ratio exceeds it only when ` +
    `the plain side leaves the thread idle more than the transitions do)`
  );
}

async function drain(stream: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const chunk of stream) n += (chunk as Buffer).length;
  return n;
}

async function largeSection(r: Rig, print: boolean): Promise<void> {
  if (print) title(`1. ${LARGE_SIZE / MiB} MiB objects, ${LARGE_COUNT} per run (MB/s)`);
  const plainLarge = await timePlainUploads(r, 'large-', LARGE_SIZE, LARGE_COUNT);
  const tierLarge = await timeTransitions(r, 'large/', LARGE_SIZE, LARGE_COUNT);
  if (!print) return;
  const plainMBps = mbps(LARGE_SIZE * LARGE_COUNT, plainLarge.ms);
  const tierMBps = mbps(LARGE_SIZE * LARGE_COUNT, tierLarge.ms);
  console.log(`   plain lib-storage upload   ${fmt(plainMBps, 1)} MB/s`);
  console.log(`   transition (engine)        ${fmt(tierMBps, 1)} MB/s`);
  console.log(`   transition / plain: ${verdict(tierMBps / plainMBps, TARGETS.large)}`);
  console.log(cpuLine(plainLarge, tierLarge, LARGE_COUNT));
}

async function smallSection(r: Rig): Promise<void> {
  title(`2. ${SMALL_SIZE / 1024} KiB objects, ${SMALL_COUNT} per run (objects/s)`);
  const plainSmall = await timePlainUploads(r, 'small-', SMALL_SIZE, SMALL_COUNT);
  const tierSmall = await timeTransitions(r, 'small/', SMALL_SIZE, SMALL_COUNT);
  const plainOps = SMALL_COUNT / (plainSmall.ms / 1000);
  const tierOps = SMALL_COUNT / (tierSmall.ms / 1000);
  console.log(`   plain PutObject            ${fmt(plainOps, 0)} objects/s`);
  console.log(`   transition (engine)        ${fmt(tierOps, 0)} objects/s`);
  console.log(`   transition / plain: ${verdict(tierOps / plainOps, TARGETS.small)}`);
  console.log(cpuLine(plainSmall, tierSmall, SMALL_COUNT));
}

/** Reads the first large object (transitioned by largeSection) through the tier. */
async function readSection(r: Rig): Promise<void> {
  title(`3. read-through GET of a transitioned ${LARGE_SIZE / MiB} MiB object, ${READ_ROUNDS} reads (MB/s)`);
  const through: number[] = [];
  const plain: number[] = [];
  for (let round = 0; round < READ_ROUNDS; round++) {
    let t0 = performance.now();
    const got = await drain((await r.pool.getObject(BUCKET, 'large/0')).stream);
    through.push(mbps(got, since(t0)));
    if (got !== LARGE_SIZE) throw new Error(`read-through returned ${got} bytes`);
    t0 = performance.now();
    const out = await r.sdk.send(new GetObjectCommand({ Bucket: CLOUD_BUCKET, Key: 'plain/large-0' }));
    plain.push(mbps(await drain(out.Body as AsyncIterable<Buffer>), since(t0)));
  }
  console.log(`   read-through (ObjectLayer) ${through.map((x) => fmt(x, 1)).join(' ')} MB/s`);
  console.log(`   plain GetObject (context)  ${plain.map((x) => fmt(x, 1)).join(' ')} MB/s`);
}

async function main(): Promise<void> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'tiergate-tiering-bench-'));
  const rig: Partial<Rig> = {};
  const onSignal = (): void => {
    void closeRig(rig).finally(() => {
      rmSync(root, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = performance.now();
  try {
    console.log('tiergate tiering benchmark (MB = 1e6 B, MiB = 2^20 B); one process, s3rver in-process');
    for (const line of environmentLines(root)) console.log(`   ${line}`);
    Object.assign(rig, await openRig(root));
    const r = rig as Rig;
    console.log(
      `   tier: s3 on s3rver (no signature checks, no fsync), part ${PART_SIZE / MiB} MiB x ${QUEUE_SIZE} in ` +
        `flight; source: 6 drives, one 4+2 set, fsync on; local KMS; at once on both sides: ${CONCURRENCY} small, ` +
        `${engineInFlight(r.backend, LARGE_SIZE)} large (the engine's upload buffers: ` +
        `${TRANSITION_UPLOAD_MEMORY / MiB} MiB); page cache flushed (sync) before every timed run`,
    );

    const wanted = new Set(process.argv.slice(2));
    const run = (name: string): boolean => wanted.size === 0 || wanted.has(name);
    if (run('large') || run('read')) await largeSection(r, run('large'));
    if (run('small')) await smallSection(r);
    if (run('read')) await readSection(r);
    console.log(`\ndone in ${(since(started) / 1000).toFixed(1)} s`);
  } finally {
    await closeRig(rig);
    await fsp.rm(root, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
