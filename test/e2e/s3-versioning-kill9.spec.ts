/**
 * Acceptance (issue 4): a SIGKILL during versioned overwrites never loses a version. Eight writers keep overwriting
 * one key of a versioning-Enabled bucket (inline and streamed sizes, each body derived from a seed it carries in
 * its user metadata) while the gateway process is SIGKILLed, restarted on the same drives, and killed again.
 * After every restart each version acknowledged in any earlier round still reads back byte-identical by its id,
 * every version listed reads back exactly the bytes of its own seed (no partial or mixed version), versions are
 * listed newest first, and the key's current version is the newest listed one.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  type ObjectVersion,
} from '@aws-sdk/client-s3';
import { seededBytes } from '../fixtures/seeded';
import { crashClient as client, type GatewayProcess, startGateway } from './gateway-process';

const BUCKET = 'versions-crash';
const KEY = 'report.bin';
const ROUNDS = 4;
const WRITERS = 8;
/** Acknowledged overwrites each round waits for before the kill (the kill then lands among the ones in flight). */
const ACKS_BEFORE_KILL = 12;
const READY_TIMEOUT_MS = 60_000;
const SETTLE_TIMEOUT_MS = 30_000;

/** Body size for a seed: a third inline (< 128 KiB), the rest streamed to data directories (up to ~3 MiB). */
function sizeOf(seed: number): number {
  return seed % 3 === 0 ? 1 + ((seed * 7919) % (100 * 1024)) : 200 * 1024 + ((seed * 104729) % (3 << 20));
}

const sha256 = (data: Buffer | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Every version of KEY, in listing order, paged. */
async function listVersions(s3: S3Client): Promise<ObjectVersion[]> {
  const out: ObjectVersion[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: BUCKET,
        MaxKeys: 50,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
      }),
    );
    assert.equal(page.DeleteMarkers, undefined, 'no delete markers were ever written');
    out.push(...(page.Versions ?? []));
    if (!page.IsTruncated) return out;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

/** Reads one version (by id, or the current one) and checks its bytes against the seed in its metadata. */
async function readChecked(
  s3: S3Client,
  versionId: string | undefined,
): Promise<{ seed: number; id: string }> {
  const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY, VersionId: versionId }));
  const body = await res.Body!.transformToByteArray();
  const seed = Number(res.Metadata?.seed);
  const label = `version ${versionId ?? '(current)'} (seed ${seed})`;
  assert.ok(Number.isInteger(seed), `${label}: no seed in its metadata`);
  assert.equal(body.length, sizeOf(seed), `${label}: ${body.length} bytes, wrote ${sizeOf(seed)}`);
  assert.equal(sha256(body), sha256(seededBytes(seed, sizeOf(seed))), `${label}: bytes differ`);
  return { seed, id: res.VersionId! };
}

describe('SIGKILL during versioned overwrites', { timeout: 600_000 }, () => {
  let base: string;
  let drives: string;
  const children: GatewayProcess[] = [];
  const clients: S3Client[] = [];

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'tiergate-vkill9-'));
    await Promise.all([1, 2, 3, 4, 5, 6].map((i) => mkdir(join(base, `drive${i}`))));
    drives = join(base, 'drive{1...6}');
  });

  after(async () => {
    for (const s3 of clients) s3.destroy();
    for (const child of children) await child.stop();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('loses no acknowledged version, and shows no partial one', { timeout: 600_000 }, async (t) => {
    /** Every acknowledged version so far: id -> seed. */
    const acked = new Map<string, number>();
    let nextSeed = 1;
    for (let round = 1; round <= ROUNDS; round++) {
      const gw = await startGateway({ cwd: base, drives });
      children.push(gw);
      const s3 = client(gw.url);
      clients.push(s3);
      if (round === 1) {
        await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
        await s3.send(
          new PutBucketVersioningCommand({
            Bucket: BUCKET,
            VersioningConfiguration: { Status: 'Enabled' },
          }),
        );
      } else {
        await verify(s3, acked, t.diagnostic.bind(t), round - 1);
      }

      let killed = false;
      let ackedThisRound = 0;
      const failures: string[] = [];
      const writer = async (): Promise<void> => {
        while (!killed) {
          const seed = nextSeed++;
          try {
            const res = await s3.send(
              new PutObjectCommand({
                Bucket: BUCKET,
                Key: KEY,
                Body: seededBytes(seed, sizeOf(seed)),
                Metadata: { seed: String(seed) },
              }),
            );
            assert.ok(res.VersionId && res.VersionId !== 'null', 'an Enabled bucket names every version');
            acked.set(res.VersionId, seed);
            ackedThisRound++;
          } catch (err) {
            if (!killed) failures.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
            return;
          }
        }
      };
      const writers = Array.from({ length: WRITERS }, () => writer());
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (ackedThisRound < ACKS_BEFORE_KILL) {
        assert.deepEqual(failures, [], `writes failed before the kill:\n${gw.output()}`);
        assert.ok(Date.now() < deadline, `only ${ackedThisRound} acknowledged writes:\n${gw.output()}`);
        await delay(10);
      }
      // Land the kill at a varying point among the writes in flight.
      await delay((round * 37) % 50);
      killed = true;
      await gw.kill();
      s3.destroy();
      const settled = await Promise.race([
        Promise.allSettled(writers).then(() => true),
        delay(SETTLE_TIMEOUT_MS, false),
      ]);
      assert.ok(settled, `writers still pending ${SETTLE_TIMEOUT_MS}ms after the kill`);
      assert.deepEqual(failures, [], `writes failed before the kill:\n${gw.output()}`);
    }
    const last = await startGateway({ cwd: base, drives });
    children.push(last);
    const s3 = client(last.url);
    clients.push(s3);
    await verify(s3, acked, t.diagnostic.bind(t), ROUNDS);
  });
});

/** Checks the state after a restart (see the file header). */
async function verify(
  s3: S3Client,
  acked: ReadonlyMap<string, number>,
  note: (message: string) => void,
  round: number,
): Promise<void> {
  const listed = await listVersions(s3);
  note(`after kill ${round}: ${acked.size} versions acknowledged, ${listed.length} listed`);
  const ids = listed.map((v) => v.VersionId!);
  assert.equal(new Set(ids).size, ids.length, 'a version is listed twice');
  for (const [id, seed] of acked)
    assert.ok(ids.includes(id), `acknowledged version ${id} (seed ${seed}) is gone`);
  for (let i = 1; i < listed.length; i++) {
    assert.ok(
      listed[i - 1].LastModified!.getTime() >= listed[i].LastModified!.getTime(),
      `versions out of order at ${i}`,
    );
  }
  assert.deepEqual(
    listed.map((v) => v.IsLatest),
    listed.map((_, i) => i === 0),
    'exactly the first version listed is the latest',
  );
  for (const v of listed) {
    const { seed } = await readChecked(s3, v.VersionId);
    const expected = acked.get(v.VersionId!);
    if (expected !== undefined) assert.equal(seed, expected, `version ${v.VersionId} holds another write`);
  }
  const current = await readChecked(s3, undefined);
  assert.equal(current.id, ids[0], 'the current version is the newest listed');
}
