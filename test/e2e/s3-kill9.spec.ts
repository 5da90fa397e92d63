/**
 * End to end crash safety: 16 concurrent uploads (1-20 MiB; single PUTs and multipart uploads) to the gateway
 * process, which is SIGKILLed once some are acknowledged while others are provably mid-way (their bodies stalled
 * half sent, or one part uploaded and the rest withheld). Restarted on the same drives, the gateway must show no
 * partial object: every listed object reads back byte-identical to what was sent for its key (content derived
 * from a per-key seed), every acknowledged upload is there, and every unacknowledged one is absent or complete.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { seededBytes } from '../fixtures/seeded';
import { crashClient as client, type GatewayProcess, startGateway } from './gateway-process';

const MiB = 1024 * 1024;
const BUCKET = 'crash';
const PART_SIZE = 5 * MiB;
const MIN_ACKED_BEFORE_KILL = 4;
const READY_TIMEOUT_MS = 90_000;
const SETTLE_TIMEOUT_MS = 30_000;

/**
 * How each upload is sent: `put` and `multipart` send their whole body; `held-put` stops after half its body and
 * `held-multipart` after its first part, so both are in flight when the gateway dies and can never complete.
 */
type Mode = 'put' | 'multipart' | 'held-put' | 'held-multipart';

interface Plan {
  key: string;
  seed: number;
  size: number;
  mode: Mode;
}

const MODES: Mode[] = [
  ...Array<Mode>(8).fill('put'),
  ...Array<Mode>(4).fill('multipart'),
  ...Array<Mode>(2).fill('held-put'),
  ...Array<Mode>(2).fill('held-multipart'),
];
const SIZES_MIB = [1, 20, 3, 9, 2, 14, 6, 17, 11, 20, 13, 16, 8, 19, 12, 18];
const PLANS: Plan[] = MODES.map((mode, i) => ({
  key: `${mode}/obj-${String(i).padStart(2, '0')}`,
  seed: 9000 + i,
  size: SIZES_MIB[i] * MiB,
  mode,
}));

const content = (plan: Plan) => seededBytes(plan.seed, plan.size);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** `data` up to `stopAt` bytes, then nothing more until destroyed; `onStalled` runs once everything before is read. */
function stallingBody(data: Buffer, stopAt: number, onStalled: () => void): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= stopAt) {
        onStalled();
        return;
      }
      const end = Math.min(stopAt, offset + 256 * 1024);
      this.push(data.subarray(offset, end));
      offset = end;
    },
  });
}

/** The object's bytes, or undefined when it does not exist (NoSuchKey). */
async function read(s3: S3Client, key: string): Promise<Buffer | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  } catch (err) {
    if (err instanceof S3ServiceException && err.name === 'NoSuchKey') return undefined;
    throw err;
  }
}

async function listAll(s3: S3Client): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key!, o.Size!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

describe('SIGKILL during concurrent uploads', { timeout: 300_000 }, () => {
  let base: string;
  let drives: string;
  const children: GatewayProcess[] = [];
  const clients: S3Client[] = [];

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'tiergate-kill9-'));
    await Promise.all([1, 2, 3, 4].map((i) => mkdir(join(base, `drive${i}`))));
    drives = join(base, 'drive{1...4}');
  });

  after(async () => {
    for (const s3 of clients) s3.destroy();
    for (const child of children) await child.stop();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it(
    'leaves no partial object; every acknowledged upload survives intact',
    { timeout: 300_000 },
    async (t) => {
      const first = await startGateway({ cwd: base, drives });
      children.push(first);
      const s3 = client(first.url);
      clients.push(s3);
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));

      const acked = new Set<string>();
      const failedEarly = new Map<string, string>();
      const held = new Set<string>();
      const bodies: Readable[] = [];
      let killed = false;

      const upload = async (plan: Plan): Promise<void> => {
        const data = content(plan);
        const stalled = () => held.add(plan.key);
        if (plan.mode === 'put') {
          await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: plan.key, Body: data }));
        } else if (plan.mode === 'held-put') {
          const body = stallingBody(data, plan.size / 2, stalled);
          bodies.push(body);
          await s3.send(
            new PutObjectCommand({ Bucket: BUCKET, Key: plan.key, Body: body, ContentLength: plan.size }),
          );
        } else {
          const body =
            plan.mode === 'multipart' ? data : stallingBody(data, PART_SIZE + PART_SIZE / 2, () => undefined);
          if (body instanceof Readable) bodies.push(body);
          const up = new Upload({
            client: s3,
            params: { Bucket: BUCKET, Key: plan.key, Body: body },
            partSize: PART_SIZE,
            queueSize: 2,
            leavePartsOnError: true,
          });
          // The first part is stored; the second can never fill, so CompleteMultipartUpload is never sent.
          if (plan.mode === 'held-multipart')
            up.on('httpUploadProgress', (p) => (p.loaded ?? 0) >= PART_SIZE && stalled());
          await up.done();
        }
      };
      const outcomes = PLANS.map((plan) =>
        upload(plan).then(
          () => void acked.add(plan.key),
          (err: unknown) => {
            if (!killed)
              failedEarly.set(plan.key, err instanceof Error ? `${err.name}: ${err.message}` : String(err));
          },
        ),
      );

      const heldCount = PLANS.filter((p) => p.mode.startsWith('held')).length;
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (acked.size < MIN_ACKED_BEFORE_KILL || held.size < heldCount) {
        assert.deepEqual(
          Object.fromEntries(failedEarly),
          {},
          `uploads failed before the kill:\n${first.output()}`,
        );
        assert.ok(!first.exited(), `the gateway died by itself:\n${first.output()}`);
        assert.ok(
          Date.now() < deadline,
          `not ready to kill within ${READY_TIMEOUT_MS}ms: ${acked.size} acknowledged, ` +
            `${held.size}/${heldCount} held uploads mid-way\n${first.output()}`,
        );
        await delay(20);
      }
      killed = true;
      await first.kill();
      const ackedAtKill = acked.size;

      // Unblock the stalled bodies; whatever the client does with the error no longer matters.
      for (const body of bodies)
        body.on('error', () => undefined).destroy(new Error('the gateway was killed'));
      s3.destroy();
      const timer = new AbortController();
      const settled = await Promise.race([
        Promise.allSettled(outcomes).then(() => true),
        delay(SETTLE_TIMEOUT_MS, false, { signal: timer.signal }),
      ]);
      timer.abort();
      assert.ok(settled, `uploads still pending ${SETTLE_TIMEOUT_MS}ms after the kill`);
      assert.deepEqual(
        Object.fromEntries(failedEarly),
        {},
        `uploads failed before the kill:\n${first.output()}`,
      );

      const second = await startGateway({ cwd: base, drives });
      children.push(second);
      const fresh = client(second.url);
      clients.push(fresh);
      const listed = await listAll(fresh);
      t.diagnostic(
        `killed with ${ackedAtKill} of ${PLANS.length} uploads acknowledged (${held.size} held mid-way); ` +
          `${acked.size} acknowledged in all; ${listed.size} objects listed after the restart`,
      );
      const byKey = new Map(PLANS.map((p) => [p.key, p]));

      for (const [key, size] of listed) {
        const plan = byKey.get(key);
        assert.ok(plan, `listed an object nobody uploaded: ${key}`);
        assert.equal(size, plan.size, `${key}: listed with ${size} bytes, sent ${plan.size}`);
        const got = await read(fresh, key);
        assert.ok(got, `${key} is listed but GetObject says NoSuchKey`);
        assert.equal(got.length, plan.size, `${key}: read ${got.length} bytes, sent ${plan.size}`);
        assert.equal(sha256(got), sha256(content(plan)), `${key}: bytes differ from what was sent`);
      }
      for (const key of acked) assert.ok(listed.has(key), `${key} was acknowledged but is not listed`);
      for (const plan of PLANS.filter((p) => !acked.has(p.key))) {
        const got = await read(fresh, plan.key);
        if (got !== undefined)
          assert.equal(
            sha256(got),
            sha256(content(plan)),
            `${plan.key}: unacknowledged and readable but partial`,
          );
        assert.equal(
          got !== undefined,
          listed.has(plan.key),
          `${plan.key}: GetObject and ListObjectsV2 disagree`,
        );
      }
      for (const key of held) assert.ok(!listed.has(key), `${key} never sent its whole body, yet it exists`);

      // Leftovers of the interrupted writes do not block writing the same keys again.
      for (const plan of PLANS.filter((p) => held.has(p.key))) {
        await fresh.send(new PutObjectCommand({ Bucket: BUCKET, Key: plan.key, Body: content(plan) }));
        const got = await read(fresh, plan.key);
        assert.ok(
          got && sha256(got) === sha256(content(plan)),
          `${plan.key}: rewrite after the crash reads back wrong`,
        );
      }
    },
  );
});
