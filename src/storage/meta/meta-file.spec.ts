/**
 * meta-file.ts: the `%meta` format round-trips, is pinned by a test vector, and refuses anything torn or rotten
 * with FileCorrupt.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { xxh64 } from '@node-rs/xxhash';
import { objectVersion } from '../../../test/fixtures/object-version';
import {
  decodeMeta,
  emptyMeta,
  encodeMeta,
  encodeMetaSharing,
  fromView,
  META_FORMAT_PAGED,
  META_FORMAT_VERSION,
  type MetaFile,
  type MetaView,
  type SharedEncode,
  viewOf,
  viewOfSharing,
} from './meta-file';
import { pageRefFor } from './pages';
import type { ObjectVersion } from './version';

/** Recomputes the trailing checksum, so a test can reach the checks that come after it. */
function reseal(buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  out.writeBigUInt64LE(xxh64(out.subarray(0, out.length - 8)), out.length - 8);
  return out;
}

/** A file with the given JSON text and inline bytes, correctly framed and checksummed. */
function craft(json: string, inline = Buffer.alloc(0), version = 1): Buffer {
  const body = Buffer.from(json);
  const out = Buffer.alloc(12 + body.length + inline.length + 8);
  out.write('TGMF', 0, 'latin1');
  out.writeUInt16LE(version, 4);
  out.writeUInt32LE(body.length, 8);
  body.copy(out, 12);
  inline.copy(out, 12 + body.length);
  return reseal(out);
}

function sample(): MetaFile {
  const newest = objectVersion({
    versionId: 'v2',
    modTime: 1_700_000_000_002,
    dataDir: 'inline-2',
    contentType: 'text/plain; charset=utf-8',
    userMetadata: { owner: 'zoë', 'x-empty': '' },
    tags: { project: '日本', 'a b': 'c=d' },
    checksums: { crc32: 'AAAAAA==' },
    revision: 3,
  });
  const older = objectVersion({
    versionId: 'v1',
    modTime: 1_700_000_000_001,
    dataDir: 'external-1',
    inline: false,
    size: 5 << 20,
    parts: [
      { number: 1, size: 5 << 20, etag: 'a'.repeat(32) },
      { number: 2, size: 0, etag: 'b'.repeat(32) },
    ],
    tier: { tier: 'COLD', status: 'transitioned', remote: 'obj-1' },
    lifecycle: { restore: { until: 5 } },
  });
  const empty = objectVersion({ versionId: 'v0', modTime: 1_700_000_000_000, dataDir: 'inline-0', size: 0 });
  const frame = Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 37) & 0xff));
  return { versions: [newest, older, empty], inline: new Map([['inline-2', frame]]) };
}

describe('encodeMeta / decodeMeta', () => {
  it('round-trips versions and inline blobs', () => {
    const meta = sample();
    const decoded = decodeMeta(encodeMeta(meta));
    assert.deepEqual(decoded.versions, meta.versions);
    assert.deepEqual([...decoded.inline.keys()], ['inline-2']);
    assert.ok(decoded.inline.get('inline-2')!.equals(meta.inline.get('inline-2')!));
  });

  it('round-trips several inline blobs of different sizes, in any version order', () => {
    const versions: ObjectVersion[] = [];
    const inline = new Map<string, Buffer>();
    for (let i = 0; i < 6; i++) {
      const dataDir = `dd-${i}`;
      versions.push(objectVersion({ versionId: `v${i}`, modTime: 100 - i, dataDir }));
      inline.set(dataDir, Buffer.alloc(i * 11 + 1, i + 1));
    }
    const decoded = decodeMeta(encodeMeta({ versions, inline }));
    assert.deepEqual(decoded.versions, versions);
    for (const [dataDir, blob] of inline) assert.ok(decoded.inline.get(dataDir)!.equals(blob), dataDir);
  });

  it('writes the JSON text of the object form, key order included (the index is built as text)', () => {
    const versions: ObjectVersion[] = [];
    const inline = new Map<string, Buffer>();
    const index: Record<string, [number, number]> = {};
    let offset = 0;
    for (const [i, dataDir] of [
      '0190b3f2-1d2c-7abc-8def-0123456789ab',
      'q"uote\\back',
      'zoë',
      'ext',
    ].entries()) {
      const isInline = dataDir !== 'ext';
      versions.push(objectVersion({ versionId: `v${i}`, modTime: 100 - i, dataDir, inline: isInline }));
      if (!isInline) continue;
      inline.set(dataDir, Buffer.alloc(i + 3, i));
      index[dataDir] = [offset, i + 3];
      offset += i + 3;
    }
    const pages = [pageRefFor('0190b3f2-0000-7000-8000-000000000001', versions.slice(1))];
    for (const meta of [
      { versions, inline },
      { versions, inline, pages },
      { versions: [], inline },
    ]) {
      const buf = encodeMeta(meta);
      const text = buf.toString('utf8', 12, 12 + buf.readUInt32LE(8));
      const expected = JSON.stringify({
        versions: meta.versions,
        inline: meta.versions.length ? index : {},
        pages: 'pages' in meta ? meta.pages : undefined,
      });
      assert.equal(text, expected);
    }
  });

  it('round-trips an empty file', () => {
    const decoded = decodeMeta(encodeMeta(emptyMeta()));
    assert.deepEqual(decoded.versions, []);
    assert.equal(decoded.inline.size, 0);
  });

  it('keeps only the blobs of inline versions', () => {
    const v = objectVersion({ dataDir: 'ext', inline: false });
    const decoded = decodeMeta(encodeMeta({ versions: [v], inline: new Map([['ext', Buffer.from('x')]]) }));
    assert.equal(decoded.inline.size, 0);
  });
});

describe('encodeMetaSharing: the drives of a set written the same records', () => {
  it('share one encoding when no drive has inline frames, and it is what encodeMeta gives', () => {
    const records = sample().versions.map((v) => ({ ...v, inline: false }));
    const seen: SharedEncode[] = [];
    const drives = [0, 1, 2].map(() => encodeMetaSharing({ versions: records, inline: new Map() }, seen));
    assert.equal(drives[1], drives[0]);
    assert.equal(drives[2], drives[0]);
    assert.equal(seen.length, 1);
    assert.deepEqual(drives[0], encodeMeta({ versions: records, inline: new Map() }));
  });

  it('share the JSON but not the bytes when each drive has its own inline frame', () => {
    const meta = sample();
    const seen: SharedEncode[] = [];
    const frames = [Buffer.alloc(40, 1), Buffer.alloc(40, 2)];
    const drives = frames.map((f) =>
      encodeMetaSharing({ versions: meta.versions, inline: new Map([['inline-2', f]]) }, seen),
    );
    assert.equal(seen.length, 1);
    assert.notDeepEqual(drives[0], drives[1]);
    frames.forEach((f, i) => assert.deepEqual(decodeMeta(drives[i]).inline.get('inline-2'), f));
  });

  it('encode again for other records, even equal ones (sharing is by reference)', () => {
    const records = sample().versions.map((v) => ({ ...v, inline: false }));
    const seen: SharedEncode[] = [];
    const a = encodeMetaSharing({ versions: records, inline: new Map() }, seen);
    const b = encodeMetaSharing({ versions: records.map((v) => ({ ...v })), inline: new Map() }, seen);
    assert.notEqual(a, b);
    assert.deepEqual(a, b);
    assert.equal(seen.length, 2);
  });
});

describe('meta file format v1 (test vector)', () => {
  // Hand-built and hard-coded: if this test fails, the on-disk format changed and needs a new format version.
  const vector: MetaFile = {
    versions: [
      {
        versionId: 'null',
        type: 'object',
        state: 'live',
        modTime: 1700000000000,
        size: 5,
        etag: '5d41402abc4b2a76b9719d911017c592',
        userMetadata: { a: 'b' },
        tags: {},
        checksums: {},
        storageClass: 'STANDARD',
        erasure: { k: 2, m: 2, blockSize: 1048576, distribution: [1, 2, 3, 0] },
        dataDir: 'd1',
        inline: true,
        parts: [{ number: 1, size: 5, etag: '5d41402abc4b2a76b9719d911017c592' }],
      },
    ],
    inline: new Map([['d1', Buffer.from('0011223344556677aabbccdd', 'hex')]]),
  };

  it('encodes to the pinned header, length and checksum', () => {
    const buf = encodeMeta(vector);
    assert.equal(META_FORMAT_VERSION, 1);
    // "TGMF", version 1 (u16 LE), reserved 0, JSON length 412 (u32 LE).
    assert.equal(buf.subarray(0, 12).toString('hex'), '54474d46010000009c010000');
    assert.equal(buf.length, 444);
    // JSON at 12..424, the inline frame at 424..436, xxh64 of bytes 0..436 (u64 LE) at 436..444.
    assert.equal(buf.subarray(424, 436).toString('hex'), '0011223344556677aabbccdd');
    assert.equal(buf.subarray(buf.length - 8).toString('hex'), 'b08d0ac684de7026');
  });

  it('decodes the pinned bytes back to the record', () => {
    const decoded = decodeMeta(encodeMeta(vector));
    assert.deepEqual(decoded.versions, vector.versions);
    assert.equal(decoded.inline.get('d1')!.toString('hex'), '0011223344556677aabbccdd');
  });
});

describe('decodeMeta rejects damaged files with FileCorrupt', () => {
  const good = encodeMeta(sample());

  it('rejects a bad magic (even with a valid checksum)', () => {
    for (const magic of ['TGMG', 'tgmf', '\0\0\0\0', 'MFTG']) {
      const buf = Buffer.from(good);
      buf.write(magic, 0, 'latin1');
      assert.throws(() => decodeMeta(reseal(buf)), { code: 'FileCorrupt', message: /magic/ }, magic);
    }
  });

  it('rejects an unknown format version (even with a valid checksum)', () => {
    for (const version of [0, 2, 0xffff]) {
      const buf = Buffer.from(good);
      buf.writeUInt16LE(version, 4);
      assert.throws(
        () => decodeMeta(reseal(buf)),
        { code: 'FileCorrupt', message: /version/ },
        `v${version}`,
      );
    }
  });

  it('rejects a flipped byte anywhere', () => {
    assert.doesNotThrow(() => decodeMeta(good));
    for (let i = 0; i < good.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const buf = Buffer.from(good);
        buf[i] ^= mask;
        assert.throws(() => decodeMeta(buf), { code: 'FileCorrupt' }, `byte ${i} ^ ${mask}`);
      }
    }
  });

  it('rejects a truncated file at every length', () => {
    for (let len = 0; len < good.length; len++) {
      assert.throws(() => decodeMeta(good.subarray(0, len)), { code: 'FileCorrupt' }, `length ${len}`);
    }
  });

  it('rejects trailing garbage', () => {
    assert.throws(() => decodeMeta(Buffer.concat([good, Buffer.from([0])])), { code: 'FileCorrupt' });
  });

  it('rejects a JSON length past the end, bad JSON, missing versions, and inline data out of range', () => {
    const tooLong = Buffer.from(craft('{"versions":[],"inline":{}}'));
    tooLong.writeUInt32LE(10_000, 8);
    assert.throws(() => decodeMeta(reseal(tooLong)), { code: 'FileCorrupt', message: /truncated/ });
    assert.throws(() => decodeMeta(craft('{"versions":[')), { code: 'FileCorrupt', message: /JSON/ });
    assert.throws(() => decodeMeta(craft('{"inline":{}}')), { code: 'FileCorrupt', message: /versions/ });
    assert.throws(() => decodeMeta(craft('{"versions":[],"inline":{"d":[0,5]}}', Buffer.alloc(4))), {
      code: 'FileCorrupt',
      message: /out of range/,
    });
    // The crafted frame itself is fine: the same file with the blob in range decodes.
    assert.equal(
      decodeMeta(craft('{"versions":[],"inline":{"d":[0,4]}}', Buffer.alloc(4))).inline.get('d')!.length,
      4,
    );
  });
});

describe('format 2: heads that list version pages', () => {
  const ref = pageRefFor('0b9e7f0c-8f4e-4a7c-9d51-3f7c2e9a1b20', sample().versions);

  it('writes format 2 only for a file with pages, and reads the pages back', () => {
    const head: MetaFile = { ...sample(), pages: [ref] };
    const buf = encodeMeta(head);
    assert.equal(buf.readUInt16LE(4), META_FORMAT_PAGED);
    assert.deepEqual(decodeMeta(buf).pages, [ref]);
    assert.equal(encodeMeta({ ...sample(), pages: [] }).readUInt16LE(4), META_FORMAT_VERSION);
    assert.equal(decodeMeta(encodeMeta(sample())).pages, undefined);
  });

  it('rejects pages in format 1, format 2 without pages, and malformed page references', () => {
    const pages = JSON.stringify([ref]);
    assert.doesNotThrow(() =>
      decodeMeta(craft(`{"versions":[],"inline":{},"pages":${pages}}`, undefined, 2)),
    );
    for (const [json, version] of [
      [`{"versions":[],"inline":{},"pages":${pages}}`, 1],
      ['{"versions":[],"inline":{}}', 2],
      [`{"versions":[],"inline":{},"pages":${pages.replace(ref.id, '../../etc')}}`, 2],
      [`{"versions":[],"inline":{},"pages":${pages.replace('"hasNull":false', '"hasNull":0')}}`, 2],
      ['{"versions":[],"inline":{},"pages":[null]}', 2],
    ] as const) {
      assert.throws(
        () => decodeMeta(craft(json, undefined, version)),
        { code: 'FileCorrupt', message: /pages/ },
        json,
      );
    }
  });
});

describe('viewOf / fromView: a decoded file kept next to its encoding', () => {
  /** Several inline versions (frames of different sizes), one that is not inline, and pages. */
  function rich(): MetaFile {
    const versions: ObjectVersion[] = [];
    const inline = new Map<string, Buffer>();
    for (let i = 0; i < 5; i++) {
      const dataDir = `dd-${i}`;
      const isInline = i !== 2;
      versions.push(objectVersion({ versionId: `v${i}`, modTime: 100 - i, dataDir, inline: isInline }));
      if (isInline) inline.set(dataDir, Buffer.alloc(i * 13 + 2, 0x41 + i));
    }
    inline.set('stray', Buffer.from('not a version of this file')); // not encoded, so not in the view
    const pages = [pageRefFor('0b9e7f0c-8f4e-4a7c-9d51-3f7c2e9a1b20', sample().versions)];
    return { versions, inline, pages };
  }

  it('reads back exactly what decoding the encoding gives, frames taken from the encoding', () => {
    for (const meta of [sample(), rich(), emptyMeta(), { ...sample(), pages: [] }]) {
      const encoded = encodeMeta(meta);
      const want = decodeMeta(encoded);
      const got = fromView(viewOf(meta), encoded);
      assert.deepEqual(got.versions, want.versions);
      assert.deepEqual(got.pages, want.pages);
      assert.deepEqual([...got.inline.keys()], [...want.inline.keys()]);
      for (const [dataDir, frame] of got.inline) {
        assert.ok(frame.equals(want.inline.get(dataDir)!), dataDir);
        const at = frame.byteOffset - encoded.byteOffset;
        assert.ok(
          frame.buffer === encoded.buffer && at >= 0 && at + frame.length <= encoded.length,
          `${dataDir}: a view into the encoding, not a copy`,
        );
      }
    }
  });

  it('freezes the records and page references every read shares, but not what each read gets', () => {
    const meta = rich();
    const encoded = encodeMeta(meta);
    const view = viewOf(meta);
    const a = fromView(view, encoded);
    const b = fromView(view, encoded);
    assert.equal(a.versions[0], b.versions[0], 'the records are shared');
    assert.notEqual(a.versions, b.versions);
    assert.notEqual(a.inline, b.inline);
    const v = a.versions[0];
    assert.throws(() => (v.size = 1), TypeError);
    assert.throws(() => (v.tags.x = 'y'), TypeError);
    assert.throws(() => v.erasure.distribution.push(9), TypeError);
    assert.throws(() => (v.parts[0].size = 7), TypeError);
    assert.throws(() => (a.pages![0].count = 0), TypeError);
    // Nothing in any record is left unfrozen (sample() has every kind of field, tier and lifecycle included).
    const unfrozen = (value: unknown, at: string): string[] =>
      typeof value !== 'object' || value === null
        ? []
        : [
            ...(Object.isFrozen(value) ? [] : [at]),
            ...Object.entries(value).flatMap(([k, v]) => unfrozen(v, `${at}.${k}`)),
          ];
    const full = sample();
    const fullView = viewOf(full);
    assert.deepEqual(
      fullView.versions.flatMap((r, i) => unfrozen(r, `versions[${i}]`)),
      [],
    );
    const has = (f: (r: ObjectVersion) => unknown): boolean => full.versions.some((r) => f(r));
    assert.ok(has((r) => r.tier) && has((r) => r.lifecycle) && has((r) => Object.keys(r.tags).length > 0));
    // A record read from disk without erasure or parts is still written (freezing must never fail a write).
    const bare = { ...objectVersion(), erasure: undefined, parts: undefined } as unknown as ObjectVersion;
    assert.doesNotThrow(() => viewOf({ versions: [bare], inline: new Map() }));
    assert.ok(Object.isFrozen(bare));
    a.versions.pop();
    a.inline.clear();
    a.pages!.pop();
    assert.deepEqual(fromView(view, encoded), b, 'changing one read changes no other');
  });

  it('viewOfSharing: one view for the drives of a set, a new one wherever the layout or a record differs', () => {
    const records = [objectVersion({ versionId: 'v1', dataDir: 'dd-1', inline: true })];
    const drive = (frame: number, pages?: MetaFile['pages']): MetaFile => ({
      versions: records.slice(), // each drive its own array of the same records
      inline: new Map([['dd-1', Buffer.alloc(frame, frame)]]),
      ...(pages ? { pages } : {}),
    });
    const seen: MetaView[] = [];
    const first = viewOfSharing(drive(40), seen);
    assert.equal(viewOfSharing(drive(40), seen), first, 'same records, same frame layout: shared');
    assert.equal(seen.length, 1);
    // Each drive reads its own frame through the shared view (frames of the same length, other bytes).
    const a = encodeMeta(drive(40));
    const b = encodeMeta({ ...drive(40), inline: new Map([['dd-1', Buffer.alloc(40, 7)]]) });
    assert.ok(fromView(first, a).inline.get('dd-1')!.equals(Buffer.alloc(40, 40)));
    assert.ok(fromView(first, b).inline.get('dd-1')!.equals(Buffer.alloc(40, 7)));
    assert.notEqual(viewOfSharing(drive(41), seen), first, 'another frame length');
    const copy = [{ ...records[0] }];
    assert.notEqual(
      viewOfSharing({ ...drive(40), versions: copy }, seen),
      first,
      'an equal record, not the same',
    );
    const pages = [pageRefFor('0b9e7f0c-8f4e-4a7c-9d51-3f7c2e9a1b20', sample().versions)];
    const paged = viewOfSharing(drive(40, pages), seen);
    assert.notEqual(paged, first, 'with pages');
    assert.equal(viewOfSharing(drive(40, [{ ...pages[0] }]), seen), paged, 'equal page references: shared');
    assert.notEqual(viewOfSharing({ ...drive(40), inline: new Map() }, seen), first, 'no inline frame');
    assert.equal(seen.length, 5);
  });
});
