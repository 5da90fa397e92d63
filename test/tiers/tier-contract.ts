/**
 * The contract every TierBackend keeps (after RustFS's backend contract tests), run by one spec per backend and
 * test server. Assertions about what crossed the wire come from the server's wire tap, never from the backend's own
 * account. A target describes what its server can show: whether it reports storage classes (s3rver does not),
 * whether it checks signatures (s3rver checks only the key id), its archive class if it has restore semantics, and
 * how to leave a multipart upload open if it can list them (s3rver answers ListMultipartUploads NotImplemented).
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { TierBackend } from '../../src/tiers/tier-backend';
import type { TierDefinition } from '../../src/tiers/tier-definition';
import { TierError, isNotImplemented } from '../../src/tiers/tier-error';
import { TierProbeError } from '../../src/tiers/tier-probe';
import type { WireRecord, WireTap } from '../fixtures/cloud/wire-tap';
import { patternBytes, patternSha256, patternStream, readAll, streamSha256 } from '../fixtures/pattern-bytes';

const KiB = 1024;
const MiB = 1024 * KiB;

/** One backend on one server. */
export interface ContractTarget {
  /** Builds a backend; `over` changes the definition (e.g. a wrong secret), `listPageSize` forces paging. */
  backend(over?: Partial<TierDefinition>, tuning?: { listPageSize?: number }): TierBackend;
  tap: WireTap;
  /** A class objects can be read in without a restore (used for round trips when the tier's class is archive). */
  readableClass: string;
  /** Whether HEAD and LIST report the class an object was written with. */
  reportsClass: boolean;
  /** Definition changes that the server must refuse (wrong secret; for s3rver an unknown key id). */
  badCredentials: Partial<TierDefinition>;
  /** Counter of requests the server refused for their signature, if it checks them. */
  authFailures?: () => number;
  /** Multipart part size the backend uses. */
  partSize: number;
  /** The tier's archive class and how long the server's restore takes, when it has restore semantics. */
  archive?: { restoreMs: number };
  /** Multipart uploads still open on the server (must be 0 after any put). */
  openUploads?: () => number;
  /**
   * Starts a multipart upload of the opaque `key` with one part through the cloud's own client and leaves it open
   * (as a killed gateway does); `over` changes the definition (another prefix). Returns the upload id.
   */
  openUpload?: (key: string, over?: Partial<TierDefinition>) => Promise<string>;
  /** Known defects of the server the contract must work around (s3rver's). */
  quirks?: {
    /** The server answers `bytes=0-0` with the whole object (the backend must refuse to pass that off as a range). */
    wholeObjectForFirstByte?: boolean;
    /** The server cannot page listings (s3rver's continuation tokens use DES, which OpenSSL 3 refuses). */
    noPaging?: boolean;
  };
}

/** Runs the contract against the target `setup` starts; `teardown` stops it. */
export function tierContract(
  label: string,
  setup: () => Promise<ContractTarget>,
  teardown: () => Promise<void>,
  /** Which target-specific cases to define (known before setup runs: a case that does not apply is not defined). */
  cases: { big: boolean; archive: boolean; uploads: boolean },
): void {
  describe(`tier contract: ${label}`, () => {
    let t: ContractTarget;
    let tier: TierBackend;
    const built: TierBackend[] = [];
    const make = (over?: Partial<TierDefinition>, tuning?: { listPageSize?: number }): TierBackend => {
      const b = t.backend(over, tuning);
      built.push(b);
      return b;
    };
    const since = (mark: number): WireRecord[] => t.tap.log.slice(mark);
    const put = (key: string, size: number, seed: number, known = true) =>
      tier.put(key, patternStream(seed, size), {
        size: known ? size : undefined,
        storageClass: t.readableClass,
        metadata: { seed: String(seed) },
      });

    before(async () => {
      t = await setup();
      tier = make();
    });
    after(async () => {
      for (const b of built) b.close();
      await teardown();
    });

    for (const [size, known] of [
      [0, true],
      [200 * KiB, true],
      [5 * MiB, true],
      [5 * MiB, false],
      [12 * MiB, false],
    ] as const) {
      it(`puts and gets ${size} bytes (${known ? 'size known' : 'unsized stream'})`, async () => {
        const key = `rt/${size}-${known}`;
        const mark = t.tap.log.length;
        const out = await put(key, size, size + 1, known);
        assert.equal(out.size, size);
        assert.ok(out.etag.length > 0);
        const parts = since(mark).filter((r) => r.method === 'PUT' && r.query.partNumber !== undefined);
        assert.equal(
          parts.length,
          size > t.partSize ? Math.ceil(size / t.partSize) : 0,
          'multipart iff over a part',
        );
        assert.equal(t.openUploads?.() ?? 0, 0);
        assert.equal(await streamSha256(await tier.get(key)), await patternSha256(size + 1, size));
        const memory = tier.putMemory(known ? size : undefined);
        if (parts.length === 0 && known) assert.equal(memory, 0, 'a single streamed PUT buffers nothing');
        else
          assert.ok(memory >= t.partSize, `a multipart or unsized put holds a part at least, not ${memory}`);
      });
    }

    it('putMemory: nothing up to one part of known size; at least a part beyond, more once parts must grow', () => {
      assert.equal(tier.putMemory(0), 0);
      assert.equal(tier.putMemory(t.partSize), 0);
      const multipart = tier.putMemory(t.partSize + 1);
      assert.ok(multipart >= t.partSize);
      assert.equal(
        tier.putMemory(undefined),
        multipart,
        'an unsized body is cut into parts of the same size',
      );
      // Past 10,000 parts of partSize the parts grow, and what is held with them.
      assert.ok(tier.putMemory(t.partSize * 10_000 * 3) > multipart);
    });

    it('ranged gets send exactly the Range asked for and return those bytes', async () => {
      const size = 200 * KiB;
      await put('range/obj', size, 7);
      for (const [start, end] of [
        [0, 0],
        [1000, 1999],
        [size - 1, size - 1],
        [size - 10, size + 100],
      ]) {
        const mark = t.tap.log.length;
        if (start === 0 && end === 0 && t.quirks?.wholeObjectForFirstByte) {
          await assert.rejects(
            tier.get('range/obj', { start, end }),
            /asked for bytes 0-0, the server answered/,
          );
          assert.equal(since(mark)[0].range, 'bytes=0-0');
          continue;
        }
        const got = await readAll(await tier.get('range/obj', { start, end }));
        const gets = since(mark).filter((r) => r.method === 'GET');
        assert.equal(gets.length, 1);
        assert.equal(gets[0].range, `bytes=${start}-${end}`);
        const last = Math.min(end, size - 1);
        assert.deepEqual(got, patternBytes(7, start, last - start + 1));
        assert.equal(gets[0].bytesOut, last - start + 1);
      }
      await assert.rejects(
        tier.get('range/obj', { start: size, end: size + 5 }),
        isTierError('InvalidRange'),
      );
    });

    it('head reports size, class and metadata; an absent object is null, and get of it NotFound', async () => {
      await put('head/obj', 1234, 3);
      const info = await tier.head('head/obj');
      assert.ok(info);
      assert.equal(info.size, 1234);
      assert.equal(info.metadata.seed, '3');
      if (t.reportsClass) assert.equal(info.storageClass, t.readableClass);
      assert.equal(info.restore, undefined);
      assert.equal(await tier.head('head/absent'), null);
      await assert.rejects(tier.get('head/absent'), isTierError('NotFound'));
    });

    it('lists its own prefix only, in key order, across pages', async () => {
      const paged = make(undefined, { listPageSize: t.quirks?.noPaging ? 1000 : 2 });
      const keys = ['list/e', 'list/a', 'list/c', 'list/b', 'list/d'];
      for (const k of keys) await put(k, 10, 1);
      await put('listx/other', 10, 1);
      const neighbour = make({ prefix: 'neighbour/' });
      await neighbour.put('list/z', Readable.from([Buffer.from('n')]), {
        size: 1,
        storageClass: t.readableClass,
      });
      const mark = t.tap.log.length;
      const listed: string[] = [];
      for await (const e of paged.list('list/')) {
        listed.push(e.key);
        assert.equal(e.size, 10);
      }
      assert.deepEqual(listed, [...keys].sort());
      const pages = since(mark).filter((r) => r.method === 'GET').length;
      assert.equal(pages, t.quirks?.noPaging ? 1 : 3, 'five keys at two per page');
      const all: string[] = [];
      for await (const e of tier.list()) all.push(e.key);
      assert.ok(
        all.includes('listx/other') && !all.includes('list/z') && !all.some((k) => k.startsWith('neighbour')),
      );
    });

    if (cases.uploads)
      it('lists open multipart uploads under its prefix, oldest first per key, across pages; aborts idempotently', async () => {
        const open = t.openUpload;
        assert.ok(open, 'the target can leave an upload open');
        const started = Date.now();
        const ids: Record<string, string> = {};
        for (const name of ['b1', 'a', 'b2', 'c']) ids[name] = await open(`mpu/${name[0]}`);
        const outside = await open('mpux/other');
        const neighbour = await open('mpu/z', { prefix: 'neighbour/' });
        assert.equal(t.openUploads?.() ?? 6, 6);

        // Two per page: the first page ends between the two uploads of mpu/b (key-marker and upload-id-marker).
        const paged = make(undefined, { listPageSize: 2 });
        const mark = t.tap.log.length;
        const listed: [string, string][] = [];
        for await (const u of paged.listUploads('mpu/')) {
          listed.push([u.key, u.uploadId]);
          const at = u.initiated?.getTime() ?? 0;
          assert.ok(
            at >= started - 2000 && at <= Date.now() + 2000,
            `initiated ${u.initiated?.toISOString()}`,
          );
        }
        assert.deepEqual(listed, [
          ['mpu/a', ids.a],
          ['mpu/b', ids.b1],
          ['mpu/b', ids.b2],
          ['mpu/c', ids.c],
        ]);
        const pages = since(mark).filter((r) => r.method === 'GET' && 'uploads' in r.query);
        assert.equal(pages.length, 2, 'four uploads at two per page');
        const all: string[] = [];
        for await (const u of tier.listUploads()) all.push(u.uploadId);
        assert.ok(all.includes(outside) && !all.includes(neighbour), 'its own prefix, all of it, only');

        await tier.abortUpload('mpu/b', ids.b1);
        await tier.abortUpload('mpu/b', ids.b1);
        await tier.abortUpload('mpu/a', 'no-such-upload-id');
        const left: string[] = [];
        for await (const u of tier.listUploads('mpu/')) left.push(u.uploadId);
        assert.deepEqual(left, [ids.a, ids.b2, ids.c]);
        for (const [key, id] of [
          ['mpu/a', ids.a],
          ['mpu/b', ids.b2],
          ['mpu/c', ids.c],
          ['mpux/other', outside],
        ])
          await tier.abortUpload(key, id);
        await make({ prefix: 'neighbour/' }).abortUpload('mpu/z', neighbour);
        for await (const u of tier.listUploads()) assert.fail(`upload left open: ${u.key} ${u.uploadId}`);
        assert.equal(t.openUploads?.() ?? 0, 0);
      });
    else
      it('a server without ListMultipartUploads fails the listing permanently, as NotImplemented', async () => {
        const pages = tier.listUploads()[Symbol.asyncIterator]();
        const err = await pages.next().then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(isNotImplemented(err), `expected NotImplemented, got ${String(err)}`);
        assert.equal(err.retryable, false);
      });

    it('delete is idempotent', async () => {
      await put('del/obj', 10, 1);
      await tier.delete('del/obj');
      assert.equal(await tier.head('del/obj'), null);
      await tier.delete('del/obj');
      await tier.delete('del/never-existed');
    });

    it('probe succeeds with good credentials and leaves nothing behind', async () => {
      await tier.probe();
      for await (const e of tier.list('.tiergate-probe/')) assert.fail(`probe object left: ${e.key}`);
    });

    it('probe fails at its first step, permanently, with credentials the server refuses', async () => {
      const before = t.authFailures?.() ?? 0;
      const err = await make(t.badCredentials)
        .probe()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof TierProbeError, `expected a TierProbeError, got ${String(err)}`);
      assert.equal(err.step, 'put');
      assert.equal(err.code, 'AccessDenied');
      assert.equal(err.retryable, false);
      assert.match(err.message, /failed at put/);
      if (t.authFailures) assert.ok(t.authFailures() > before, 'the server refused the signature');
    });

    it('rejects metadata the clouds would not store unchanged, before sending anything', async () => {
      const mark = t.tap.log.length;
      await assert.rejects(
        tier.put('meta/bad', Readable.from([Buffer.from('x')]), { size: 1, metadata: { 'Bad Key': 'v' } }),
        isTierError('InvalidConfig'),
      );
      assert.equal(since(mark).length, 0);
    });

    it('a tier that refuses connections, then answers 503, fails retryably; it works again once back', async () => {
      await put('outage/obj', 5 * MiB, 5);
      try {
        await t.tap.outage('refuse');
        for (const call of [
          () => tier.head('outage/obj'),
          () => tier.get('outage/obj'),
          () => tier.put('outage/new', patternStream(1, 1000), { size: 1000, storageClass: t.readableClass }),
        ])
          await assert.rejects(call(), isTierError('Unavailable'));
        await t.tap.outage('503');
        for (const call of [
          () => tier.head('outage/obj'),
          () => tier.get('outage/obj'),
          () => tier.delete('outage/obj'),
          () => tier.put('outage/new', patternStream(1, 1000), { size: 1000, storageClass: t.readableClass }),
        ])
          await assert.rejects(call(), (err: unknown) => err instanceof TierError && err.retryable);
      } finally {
        await t.tap.outage('none');
      }
      assert.equal((await tier.head('outage/obj'))?.size, 5 * MiB);
    });

    it('a body cut mid-stream fails the stream retryably instead of ending it', async () => {
      await put('cut/obj', 5 * MiB, 6);
      const body = await tier.get('cut/obj');
      const it = body[Symbol.asyncIterator]();
      await it.next();
      await t.tap.outage('refuse');
      try {
        await assert.rejects(
          (async () => {
            for (;;) if ((await it.next()).done) break;
          })(),
          (err: unknown) => err instanceof TierError && err.retryable,
        );
      } finally {
        await t.tap.outage('none');
      }
    });

    if (cases.archive)
      it('archive class: unreadable until restored; restore starts, runs, completes, then extends', async () => {
        const archive = t.archive;
        assert.ok(archive, 'the target has archive semantics');
        const key = 'archive/obj';
        await tier.put(key, patternStream(9, 300 * KiB), { size: 300 * KiB, metadata: { seed: '9' } });
        const info = await tier.head(key);
        assert.ok(info && tier.isArchiveClass(info.storageClass), `written in ${info?.storageClass}`);
        await assert.rejects(
          tier.get(key),
          (err: unknown) => err instanceof TierError && err.code === 'ObjectArchived' && !err.retryable,
        );
        assert.equal(await tier.restore(key, 1), 'started');
        assert.equal(await tier.restore(key, 1), 'in-progress');
        assert.deepEqual((await tier.head(key))?.restore, { ongoing: true });
        await assert.rejects(tier.get(key), isTierError('ObjectArchived'));
        await new Promise((r) => setTimeout(r, archive.restoreMs + 100));
        const restored = (await tier.head(key))?.restore;
        assert.equal(restored?.ongoing, false);
        assert.ok(restored?.expiry && restored.expiry.getTime() > Date.now());
        assert.deepEqual(
          await readAll(await tier.get(key, { start: 100, end: 199 })),
          patternBytes(9, 100, 100),
        );
        assert.equal(await tier.restore(key, 2), 'already-restored');
        await put('archive/standard', 10, 1);
        await assert.rejects(tier.restore('archive/standard', 1), isTierError('InvalidObjectState'));
      });

    if (cases.big)
      it('200 MiB: streamed up multipart with bounded memory; a 1 MiB range fetches exactly 1 MiB', async (ctx) => {
        const size = 200 * MiB;
        const seed = 200;
        const baseline = process.memoryUsage().rss;
        let peak = baseline;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
        const mark = t.tap.log.length;
        const started = Date.now();
        try {
          await tier.put('big/obj', patternStream(seed, size), { storageClass: t.readableClass });
        } finally {
          clearInterval(sampler);
        }
        const seconds = (Date.now() - started) / 1000;
        const parts = since(mark).filter((r) => r.method === 'PUT' && r.query.partNumber !== undefined);
        assert.equal(parts.length, Math.ceil(size / t.partSize));
        for (const p of parts) assert.ok(p.bytesIn <= t.partSize + 64 * KiB, `part of ${p.bytesIn} bytes`);
        const grew = (peak - baseline) / MiB;
        ctx.diagnostic(`200 MiB up in ${seconds.toFixed(1)} s; RSS grew at most ${grew.toFixed(0)} MiB`);
        // A body held whole would grow it by 200 MiB and more. Below that RSS moves with GC timing and allocator
        // retention (s3rver's buffers count too, in this process): 38 to 101 MiB measured across runs.
        assert.ok(grew < 128, `RSS grew by ${grew.toFixed(0)} MiB while streaming 200 MiB`);
        assert.equal((await tier.head('big/obj'))?.size, size);

        const start = 123_456_789;
        const rangeMark = t.tap.log.length;
        const got = await readAll(await tier.get('big/obj', { start, end: start + MiB - 1 }));
        const wire = since(rangeMark);
        assert.equal(wire.length, 1);
        assert.equal(wire[0].range, `bytes=${start}-${start + MiB - 1}`);
        assert.equal(wire[0].bytesOut, MiB);
        assert.deepEqual(got, patternBytes(seed, start, MiB));
        assert.equal(await streamSha256(await tier.get('big/obj')), await patternSha256(seed, size));
        await tier.delete('big/obj');
      });
  });
}

/** An assert.rejects matcher for a TierError of `code`. */
export function isTierError(code: TierError['code']): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof TierError, `expected a TierError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}
