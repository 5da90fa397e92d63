/**
 * Object metadata through LocalDrive (drive/local-drive.ts): the metadata log keeps every object's metadata up to
 * LOG_META_MAX, a %meta file what is larger (and what an older version of tiergate wrote); the ordered moves between
 * the two, and walks that merge the directory tree with the log. Tests put metadata in a file by making it larger
 * than the log takes (`asFile`: padded with spaces, which the readers here trim).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dirOf, segmentFiles, show } from '../../../test/fixtures/meta-log';
import { randomInt, seededRandom } from '../../../test/fixtures/prng';
import { tempDrives } from '../../../test/fixtures/temp-drives';
import { objectVersion } from '../../../test/fixtures/object-version';
import { compareKeys, META_FILE, SYS_VOLUME } from '../layout';
import { decodeMeta, encodeMeta, type MetaFile } from '../meta/meta-file';
import type { WalkOptions } from './drive';
import { LocalDrive } from './local-drive';
import { LOG_META_MAX, METALOG_DIR, type MetaLogOptions } from './meta-log';

/** `text` padded with spaces past the log's limit: metadata that goes to a %meta file. */
const asFile = (text: string): Buffer =>
  Buffer.concat([Buffer.from(text), Buffer.alloc(LOG_META_MAX + 1 - Buffer.byteLength(text), ' ')]);
const fileText = (path: string): string => readFileSync(path, 'utf8').trimEnd();

describe('LocalDrive metadata in the log', () => {
  const tmp = tempDrives(1, 'meta-log-drive');
  const root = tmp.paths[0];
  const logOptions: Partial<MetaLogOptions> = {
    segmentBytes: 4096,
    compactMinDead: 2048,
    cacheBytes: 1 << 16,
  };
  let drive = new LocalDrive(root, false, logOptions);
  const metaFile = (volume: string, key: string): string => join(root, volume, dirOf(key), META_FILE);
  const read = async (volume: string, key: string): Promise<string | null> =>
    (await drive.readMeta(volume, dirOf(key)))?.toString().trimEnd() ?? null;
  const inLog = async (volume: string, key: string): Promise<boolean> =>
    (await drive.metadataLog()).get(volume, dirOf(key)) !== undefined;
  /** A restart: the log is replayed from disk. */
  const reopen = async (): Promise<void> => {
    await drive.close();
    drive = new LocalDrive(root, false, logOptions);
  };

  before(async () => {
    for (const v of ['bkt', 'walk', 'gone', 'dropme', 'tree-only']) await drive.makeVolume(v);
  });
  after(async () => {
    await drive.close();
    tmp.cleanup();
  });

  it('keeps metadata in the log and creates no file or directory for it', async () => {
    const key = 'small/é/\u{1f600}';
    await drive.writeMeta('bkt', dirOf(key), key, Buffer.from('in the log'), {});
    assert.equal(existsSync(join(root, 'bkt', 'small')), false);
    assert.equal(await inLog('bkt', key), true);
    assert.equal(await read('bkt', key), 'in the log');
    await reopen();
    assert.equal(await read('bkt', key), 'in the log', 'after a restart');
  });

  it('keeps metadata too large for the log in a %meta file and nothing in the log', async () => {
    const key = 'big/object';
    await drive.writeMeta('bkt', dirOf(key), key, asFile('in a file'), {});
    assert.equal(fileText(metaFile('bkt', key)), 'in a file');
    assert.equal(await inLog('bkt', key), false);
    assert.equal(await read('bkt', key), 'in a file');
    assert.equal(await read('bkt', 'big/other'), null);
  });

  it('finds the first file written into a volume whose tree was empty', async () => {
    assert.equal(await read('tree-only', 'x'), null, 'the volume is found empty');
    await drive.writeMeta('tree-only', dirOf('x'), 'x', asFile('file'), {});
    assert.equal(await read('tree-only', 'x'), 'file');
  });

  it('answers readMetaDecoded decoded for its own log writes, and with the bytes otherwise', async () => {
    const metaOf = (dataDir: string, frameBytes: number): MetaFile => {
      const v = objectVersion({ versionId: 'null', dataDir });
      return { versions: [v], inline: new Map([[dataDir, Buffer.alloc(frameBytes, 7)]]) };
    };
    const dir = dirOf('decoded/key');
    const small = metaOf('small', 100);
    const bytes = encodeMeta(small);
    await drive.writeMeta('bkt', dir, 'decoded/key', bytes, { decoded: small });
    const got = await drive.readMetaDecoded('bkt', dir);
    assert.ok(got && !Buffer.isBuffer(got), 'decoded');
    assert.deepEqual(got, decodeMeta(bytes));
    assert.ok(
      Object.isFrozen(small.versions[0]),
      "the writer's records are frozen: every such read shares them",
    );

    // Written without `decoded`, too large for the log (a %meta file), or after a restart: the bytes, as readMeta.
    const plain = encodeMeta(metaOf('plain', 100));
    await drive.writeMeta('bkt', dir, 'decoded/key', plain, {});
    assert.deepEqual(await drive.readMetaDecoded('bkt', dir), plain);
    const large = metaOf('large', LOG_META_MAX);
    await drive.writeMeta('bkt', dir, 'decoded/key', encodeMeta(large), { decoded: large });
    assert.deepEqual(await drive.readMetaDecoded('bkt', dir), encodeMeta(large));
    await drive.writeMeta('bkt', dir, 'decoded/key', bytes, { decoded: metaOf('small', 100) });
    await reopen();
    assert.deepEqual(await drive.readMetaDecoded('bkt', dir), bytes);
    assert.equal(await drive.readMetaDecoded('bkt', dirOf('decoded/none')), null);
  });

  it('moves log -> file -> log with the newest metadata visible and no %meta file left behind', async () => {
    const key = 'move/me';
    await drive.writeMeta('bkt', dirOf(key), key, Buffer.from('v1 log'), {});
    assert.equal(await read('bkt', key), 'v1 log');
    await drive.writeMeta('bkt', dirOf(key), key, asFile('v2 file'), {});
    assert.equal(fileText(metaFile('bkt', key)), 'v2 file');
    assert.equal(await inLog('bkt', key), false, 'the log record is removed once the file is in place');
    assert.equal(await read('bkt', key), 'v2 file');
    await drive.writeMeta('bkt', dirOf(key), key, Buffer.from('v3 log'), {});
    assert.equal(existsSync(metaFile('bkt', key)), false, 'the file is unlinked once the record is durable');
    assert.equal(existsSync(join(root, 'bkt', 'move')), false, 'and its emptied directories pruned');
    assert.equal(await read('bkt', key), 'v3 log');
    await reopen();
    assert.equal(await read('bkt', key), 'v3 log');
    assert.equal(await inLog('bkt', key), true);
  });

  it('lets a log record shadow a leftover %meta file, and deleteMeta removes both', async () => {
    const key = 'shadow/k';
    await drive.writeMeta('bkt', dirOf(key), key, asFile('old file'), {});
    // `fresh` skips the unlink: the file stays, as a crash between the append and the unlink leaves it.
    await drive.writeMeta('bkt', dirOf(key), key, Buffer.from('new log'), { fresh: true });
    assert.equal(fileText(metaFile('bkt', key)), 'old file');
    assert.equal(await read('bkt', key), 'new log');
    const walked: string[] = [];
    for await (const e of drive.walk('bkt', { prefix: 'shadow/', recursive: true })) {
      walked.push(`${e.key}=${e.meta?.toString().trimEnd()}`);
    }
    assert.deepEqual(walked, ['shadow/k=new log'], 'walk lists the key once, with the log record');
    await drive.deleteMeta('bkt', dirOf(key));
    assert.equal(existsSync(metaFile('bkt', key)), false);
    assert.equal(await inLog('bkt', key), false);
    assert.equal(await read('bkt', key), null);
    await reopen();
    assert.equal(await read('bkt', key), null, 'after a restart');
  });

  describe('walk over keys in the tree and in the log', () => {
    const fixed = [
      'a',
      'a/b',
      'a/b/c',
      'a-c',
      'a.b',
      'a//b',
      'ab/cd/ef',
      'ab-/x',
      'b',
      'é',
      'é/x',
      '\ue000',
      '\ue000/y',
      '\u{1f600}',
      '\u{1f600}/z',
      'z/\u{1f600}',
      'z/\ufffd',
      'z/a/b',
      '%',
      '%41',
      'k%2F',
      '.',
      '/x',
      'x/',
      'x/y/',
      'photos/2024/01.jpg',
      'photos/2024/02.jpg',
      'photos/2025/01.jpg',
      'photos/index',
      'photos0',
      'photos/',
    ];
    const rand = seededRandom(61);
    const pieces = ['a', 'b', '/', 'é', '\u{1f600}', '\ue000', 'x'];
    const keys = new Set(fixed);
    while (keys.size < fixed.length + 60) {
      let k = '';
      for (let i = randomInt(rand, 1, 5); i > 0; i--) k += pieces[randomInt(rand, 0, pieces.length - 1)];
      keys.add(k);
    }
    /** key -> the metadata walk must return (the log's when a key is in both). */
    const expectedMeta = new Map<string, string>();

    before(async () => {
      for (const key of keys) {
        const roll = rand();
        const dir = dirOf(key);
        if (roll < 0.35) {
          await drive.writeMeta('walk', dir, key, asFile(`tree:${key}`), {});
          expectedMeta.set(key, `tree:${key}`);
        } else if (roll < 0.8) {
          await drive.writeMeta('walk', dir, key, Buffer.from(`log:${key}`), {});
          expectedMeta.set(key, `log:${key}`);
        } else {
          // In both: a leftover file under a log record (see the shadow test above).
          await drive.writeMeta('walk', dir, key, asFile(`stale:${key}`), {});
          await drive.writeMeta('walk', dir, key, Buffer.from(`log:${key}`), { fresh: true });
          expectedMeta.set(key, `log:${key}`);
        }
      }
    });

    /**
     * S3 listing semantics: keys with the prefix and strictly after the marker; without `recursive`, a key with a
     * '/' after the prefix rolls up into the common prefix up to it. A common prefix equal to the marker is not
     * repeated (a listing that ended on it resumes after everything below it).
     */
    function model(opts: WalkOptions): string[] {
      const prefix = opts.prefix ?? '';
      const marker = opts.marker ?? '';
      const out = new Map<string, string>();
      for (const [key, meta] of expectedMeta) {
        if (!key.startsWith(prefix) || compareKeys(key, marker) <= 0) continue;
        const slash = opts.recursive ? -1 : key.indexOf('/', prefix.length);
        if (slash < 0) out.set(key, `O:${key}=${meta}`);
        else if (key.slice(0, slash + 1) !== marker)
          out.set(key.slice(0, slash + 1), `P:${key.slice(0, slash + 1)}`);
      }
      return [...out.keys()].sort(compareKeys).map((k) => out.get(k)!);
    }

    async function walk(opts: WalkOptions): Promise<string[]> {
      const out: string[] = [];
      for await (const e of drive.walk('walk', opts)) {
        if (e.prefix) {
          assert.equal(e.meta, undefined);
          out.push(`P:${e.key}`);
        } else {
          assert.ok(e.meta, `${e.key} comes with its metadata`);
          out.push(`O:${e.key}=${e.meta.toString().trimEnd()}`);
        }
      }
      return out;
    }

    it('put keys in both places', async () => {
      const log = await drive.metadataLog();
      const logged = [...keys].filter((k) => log.get('walk', dirOf(k)) !== undefined).length;
      const files = [...keys].filter((k) => existsSync(metaFile('walk', k))).length;
      assert.ok(logged > 20 && files > 20, `${logged} in the log, ${files} in files`);
      assert.ok(logged + files > keys.size, 'some keys in both');
    });

    const prefixes = [
      '',
      'a',
      'a/',
      'a/b',
      'a/b/',
      'ab',
      'photos',
      'photos/',
      'photos/2024/',
      'z/',
      'x/',
      'é',
      '\u{1f600}',
      '\ue000',
      '/',
      'b/',
      'nothing',
    ];
    // Markers before, between, on and inside common prefixes, on keys and between them.
    const markers = [
      '',
      'a',
      'a/',
      'a/b',
      'a-c',
      'ab-/x',
      'b',
      'b/',
      'photos/',
      'photos/2024/',
      'photos/2024/01.jpg',
      'photos/2024/03',
      'photos/2025/',
      'é',
      '\ue000',
      '\u{1f600}',
      'zzz',
    ];
    /**
     * A delimited walk whose marker lies inside a common prefix under which no key sorts after the marker: there
     * the tree and the log disagree (see the test after the matrix), so the matrix leaves these pairs to that test.
     */
    const markerInsideEmptyPrefix = (opts: WalkOptions): boolean => {
      const prefix = opts.prefix ?? '';
      const marker = opts.marker ?? '';
      const slash = marker.startsWith(prefix) ? marker.indexOf('/', prefix.length) : -1;
      if (opts.recursive || slash < 0 || slash === marker.length - 1) return false;
      const common = marker.slice(0, slash + 1);
      return ![...keys].some((k) => k.startsWith(common) && compareKeys(k, marker) > 0);
    };

    for (const recursive of [true, false]) {
      for (const prefix of prefixes) {
        it(`${recursive ? 'recursive' : 'delimited'} walk, prefix ${show(prefix)}, every marker`, async () => {
          for (const marker of markers) {
            const opts = { prefix, marker, recursive };
            if (markerInsideEmptyPrefix(opts)) continue;
            assert.deepEqual(await walk(opts), model(opts), `marker ${show(marker)}`);
          }
        });
      }
    }

    it('lists the same after a restart', async () => {
      await reopen();
      for (const recursive of [true, false]) {
        assert.deepEqual(await walk({ recursive }), model({ recursive }));
      }
    });
  });

  it('answers a delimited walk with a marker inside a common prefix the same for tree and log keys', async () => {
    // The same two keys, in one volume as %meta files, in another as log records.
    for (const [volume, meta] of [
      ['inside-tree', asFile],
      ['inside-log', (key: string) => Buffer.from(key)],
    ] as const) {
      await drive.makeVolume(volume);
      for (const key of ['p/1', 'q']) await drive.writeMeta(volume, key, key, meta(key), {});
    }
    const list = async (volume: string, marker: string): Promise<string[]> => {
      const out: string[] = [];
      for await (const e of drive.walk(volume, { marker, recursive: false }))
        out.push(`${e.prefix ? 'P' : 'O'}:${e.key}`);
      return out;
    };
    // Keys after the marker, rolled up: 'p/' only while 'p/1' is after the marker, and never 'p/' itself again.
    const expected: [marker: string, entries: string[]][] = [
      ['p', ['P:p/', 'O:q']],
      ['p/', ['O:q']],
      ['p/0', ['P:p/', 'O:q']],
      ['p/1', ['O:q']],
      ['p/2', ['O:q']],
    ];
    for (const [marker, entries] of expected) {
      assert.deepEqual(await list('inside-log', marker), entries, `log, marker ${marker}`);
      assert.deepEqual(await list('inside-tree', marker), entries, `tree, marker ${marker}`);
    }
  });

  it('refuses to delete a volume while the log holds one of its objects', async () => {
    await drive.writeMeta('gone', 'k', 'k', Buffer.from('x'), {});
    await assert.rejects(drive.deleteVolume('gone'), { code: 'BucketNotEmpty' });
    assert.equal(existsSync(join(root, 'gone')), true);
    await drive.deleteMeta('gone', 'k');
    await drive.deleteVolume('gone');
    assert.equal(existsSync(join(root, 'gone')), false);
  });

  it("drops a volume's log records with delete(volume, '', recursive)", async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `obj/${i}`);
    for (const [i, key] of keys.entries()) {
      await drive.writeMeta('dropme', dirOf(key), key, i % 5 === 0 ? asFile(key) : Buffer.from(key), {});
    }
    await drive.writeMeta('bkt', 'keep', 'keep', Buffer.from('other volume'), {});
    assert.equal((await drive.metadataLog()).count('dropme'), 24);
    await drive.delete('dropme', '', { recursive: true });
    assert.equal((await drive.metadataLog()).count('dropme'), 0);
    for (const key of keys) assert.equal(await read('dropme', key), null, key);
    const walked: string[] = [];
    for await (const e of drive.walk('dropme', { recursive: true })) walked.push(e.key);
    assert.deepEqual(walked, []);
    await reopen();
    assert.equal((await drive.metadataLog()).count('dropme'), 0, 'after a restart');
    assert.equal(await read('bkt', 'keep'), 'other volume');
    await drive.makeVolume('dropme');
    await drive.deleteVolume('dropme');
  });

  it('fails with DriveFaulty when an older log segment is not a segment', async () => {
    const other = join(tmp.root, 'corrupt');
    mkdirSync(other);
    let d = new LocalDrive(other, false, { segmentBytes: 128 });
    await d.makeVolume('bkt');
    for (let i = 0; i < 10; i++) {
      await d.writeMeta('bkt', `k${i}`, `k${i}`, Buffer.alloc(40, i), {});
    }
    await d.close();
    const logDir = join(other, SYS_VOLUME, METALOG_DIR);
    const first = join(logDir, segmentFiles(logDir)[0]);
    assert.ok(segmentFiles(logDir).length >= 2);
    const original = readFileSync(first);
    writeFileSync(first, Buffer.alloc(original.length, 0x41));
    d = new LocalDrive(other, false, { segmentBytes: 128 });
    await assert.rejects(d.readMeta('bkt', 'k9'), { code: 'DriveFaulty' });
    await assert.rejects(d.writeMeta('bkt', 'k', 'k', Buffer.from('x'), {}), {
      code: 'DriveFaulty',
    });
    await d.close();
    writeFileSync(first, original);
    d = new LocalDrive(other, false, { segmentBytes: 128 });
    assert.deepEqual(await d.readMeta('bkt', 'k9'), Buffer.alloc(40, 9));
    await d.close();
  });
});
