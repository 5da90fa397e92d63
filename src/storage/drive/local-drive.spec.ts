/**
 * local-drive.ts: no argument can reach outside the drive root, whole-file writes are atomic and leave no temp
 * files, errors map to StorageErrors, and walk() lists a bucket in key byte order.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import nodeFs, {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FaultyDrive } from '../../../test/fixtures/faulty-drive';
import { faultyPool, streamOf, tempDrives } from '../../../test/fixtures/temp-drives';
import type { ErasurePool } from '../pool';
import { compareKeys, SYS_VOLUME, TMP_DIR } from '../layout';
import { decodeMeta } from '../meta/meta-file';
import type { Drive, WalkOptions } from './drive';
import { LazyFileSource } from '../erasure/sources';
import { LocalDrive } from './local-drive';
import { LOG_META_MAX } from './meta-log';

/** Every file under `dir` (relative path -> sha256 of its content); directories as `path/`. */
function snapshot(dir: string, base = dir, out = new Map<string, string>()): Map<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    const rel = full.slice(base.length + 1);
    if (e.isDirectory()) {
      out.set(`${rel}/`, '');
      snapshot(full, base, out);
    } else {
      out.set(rel, createHash('sha256').update(readFileSync(full)).digest('hex'));
    }
  }
  return out;
}

async function collect(drive: Drive, volume: string, opts: WalkOptions): Promise<string[]> {
  const out: string[] = [];
  for await (const e of drive.walk(volume, opts)) {
    if (e.prefix) {
      assert.equal(e.meta, undefined);
      out.push(`P:${e.key}`);
    } else {
      assert.ok(e.meta, `object ${e.key} comes with its metadata`);
      assert.equal(decodeMeta(e.meta).versions.length, 1);
      out.push(`O:${e.key}`);
    }
  }
  return out;
}

describe('LocalDrive path safety', () => {
  const tmp = tempDrives(2, 'local-drive-safety');
  const root = tmp.paths[0];
  const drive = new LocalDrive(root, false);
  let initial: Map<string, string>;

  // Real targets an escape would hit: a file next to the drive, one in the other drive, one at the temp root.
  const sentinels = [
    join(tmp.root, 'outside.txt'),
    join(tmp.paths[1], 'vol', 'other-drive.txt'),
    join(root, 'secret.txt'),
  ];

  const badVolumes = ['', '.', '..', '../x', '../d1', '/abs', join(tmp.root, 'd1'), 'a/b', 'vo\0l', 'vol/..'];
  const badPaths = [
    '..',
    '.',
    '../x',
    '../secret.txt',
    '../../outside.txt',
    '../../d1/vol/other-drive.txt',
    'a/../../../outside.txt',
    'a/..',
    './a',
    'a/./b',
    '/etc/passwd',
    sentinels[0],
    'a\0b',
    '\0',
  ];

  const data = Buffer.from('attacker data');
  /** Metadata over the log's limit, which goes to a %meta file. */
  const tooBigForTheLog = Buffer.alloc(LOG_META_MAX + 1, 'x');
  const byVolume: [string, (v: string) => Promise<unknown>][] = [
    ['makeVolume', (v) => drive.makeVolume(v)],
    ['deleteVolume', (v) => drive.deleteVolume(v)],
    ['statVolume', (v) => drive.statVolume(v)],
    ['readMeta', (v) => drive.readMeta(v, 'f')],
    ['writeMeta', (v) => drive.writeMeta(v, 'f', 'f', data, {})],
    ['writeMeta (file)', (v) => drive.writeMeta(v, 'f', 'f', tooBigForTheLog, {})],
    ['deleteMeta', (v) => drive.deleteMeta(v, 'f')],
    ['readFile', (v) => drive.readFile(v, 'f')],
    ['writeFileAtomic', (v) => drive.writeFileAtomic(v, 'f', data)],
    ['createFile', (v) => drive.createFile(v, 'f')],
    ['openFile', (v) => drive.openFile(v, 'f')],
    ['rename (source)', (v) => drive.rename(v, 'f', 'vol', 'g')],
    ['rename (target)', (v) => drive.rename('vol', 'file.txt', v, 'g')],
    ['link (source)', (v) => drive.link(v, 'f', 'vol', 'g')],
    ['link (target)', (v) => drive.link('vol', 'file.txt', v, 'g')],
    ['delete', (v) => drive.delete(v, 'f', { recursive: true, prune: true })],
    ['list', (v) => drive.list(v, '')],
    ['walk', (v) => collect(drive, v, { recursive: true })],
  ];
  const byPath: [string, (p: string) => Promise<unknown>][] = [
    ['readMeta', (p) => drive.readMeta('vol', p)],
    ['writeMeta', (p) => drive.writeMeta('vol', p, 'k', data, {})],
    ['writeMeta (file)', (p) => drive.writeMeta('vol', p, 'k', tooBigForTheLog, {})],
    ['deleteMeta', (p) => drive.deleteMeta('vol', p)],
    ['readFile', (p) => drive.readFile('vol', p)],
    ['writeFileAtomic', (p) => drive.writeFileAtomic('vol', p, data)],
    ['createFile', (p) => drive.createFile('vol', p)],
    ['openFile', (p) => drive.openFile('vol', p)],
    ['rename (source)', (p) => drive.rename('vol', p, 'vol', 'moved')],
    ['rename (target)', (p) => drive.rename('vol', 'file.txt', 'vol', p)],
    ['link (source)', (p) => drive.link('vol', p, 'vol', 'linked')],
    ['link (target)', (p) => drive.link('vol', 'file.txt', 'vol', p)],
    ['delete', (p) => drive.delete('vol', p)],
    ['delete (recursive, prune)', (p) => drive.delete('vol', p, { recursive: true, prune: true })],
    ['list', (p) => drive.list('vol', p)],
  ];

  before(async () => {
    mkdirSync(join(tmp.paths[1], 'vol'));
    for (const s of sentinels) writeFileSync(s, 'keep me');
    await drive.makeVolume('vol');
    await drive.writeFileAtomic('vol', 'file.txt', Buffer.from('inside'));
    await drive.metadataLog(); // replayed (created) on first use: part of the drive, not of any test below
    initial = snapshot(tmp.root);
  });
  after(() => tmp.cleanup());

  for (const [method, call] of byVolume) {
    it(`${method} refuses volumes that could escape the root`, async () => {
      for (const v of badVolumes) {
        await assert.rejects(call(v), { code: 'InvalidArgument' }, `${method}(${JSON.stringify(v)})`);
      }
    });
  }

  for (const [method, call] of byPath) {
    it(`${method} refuses paths that could escape the root`, async () => {
      for (const p of badPaths) {
        await assert.rejects(call(p), { code: 'InvalidArgument' }, `${method}(${JSON.stringify(p)})`);
      }
    });
  }

  it('left every file in place, inside the drive and out', () => {
    assert.deepEqual(snapshot(tmp.root), initial);
    for (const s of sentinels) assert.equal(readFileSync(s, 'utf8'), 'keep me');
  });

  it('still serves well-formed paths', async () => {
    assert.equal((await drive.readFile('vol', 'file.txt')).toString(), 'inside');
    await drive.writeFileAtomic('vol', 'dir//nested.txt', Buffer.from('ok'));
    assert.equal((await drive.readFile('vol', 'dir/nested.txt')).toString(), 'ok');
    assert.deepEqual((await drive.list('vol', '')).sort(), ['dir/', 'file.txt']);
  });
});

describe('LocalDrive files', () => {
  const tmp = tempDrives(1, 'local-drive-files');
  const root = tmp.paths[0];
  const drive = new LocalDrive(root, true);
  const tmpDir = join(root, SYS_VOLUME, TMP_DIR);
  const leftovers = (): string[] => (existsSync(tmpDir) ? readdirSync(tmpDir) : []);

  before(async () => {
    await drive.makeVolume(SYS_VOLUME);
    await drive.makeVolume('vol');
  });
  after(() => tmp.cleanup());

  it('writeFileAtomic creates parents, replaces whole files and leaves no temp files', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        drive.writeFileAtomic('vol', `deep/${i % 4}/f${i}`, Buffer.alloc(i * 100, i)),
      ),
    );
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => drive.writeFileAtomic('vol', 'same', Buffer.alloc(1000, i))),
    );
    const same = await drive.readFile('vol', 'same');
    assert.equal(same.length, 1000);
    assert.ok(
      same.every((b) => b === same[0]),
      'one whole write won, not a mix',
    );
    assert.equal((await drive.readFile('vol', 'deep/3/f19')).length, 1900);
    assert.deepEqual(leftovers(), []);
  });

  it('writeFileAtomic cleans its temp file when the target cannot be written', async () => {
    await drive.writeFileAtomic('vol', 'plain', Buffer.from('x'));
    mkdirSync(join(root, 'vol', 'a-dir', 'child'), { recursive: true });
    // Parent is a file; target is a non-empty directory.
    await assert.rejects(drive.writeFileAtomic('vol', 'plain/child', Buffer.from('y')));
    await assert.rejects(drive.writeFileAtomic('vol', 'a-dir', Buffer.from('y')));
    assert.deepEqual(leftovers(), []);
    assert.equal((await drive.readFile('vol', 'plain')).toString(), 'x');
  });

  it('maps missing files, non-empty volumes and a closed drive to storage errors', async () => {
    await assert.rejects(drive.readFile('vol', 'missing'), { code: 'FileNotFound' });
    await assert.rejects(drive.openFile('vol', 'missing'), { code: 'FileNotFound' });
    await assert.rejects(drive.list('vol', 'missing-dir'), { code: 'FileNotFound' });
    await assert.rejects(drive.statVolume('no-such-volume'), { code: 'FileNotFound' });
    await assert.rejects(drive.deleteVolume('vol'), { code: 'BucketNotEmpty' });
    await drive.delete('vol', 'missing'); // missing is not an error
    await drive.makeVolume('empty-vol');
    await drive.deleteVolume('empty-vol');
    assert.equal(existsSync(join(root, 'empty-vol')), false);
    const closed = new LocalDrive(root, false);
    await closed.close();
    await assert.rejects(closed.readFile('vol', 'plain'), { code: 'DriveOffline' });
  });

  it('writes and reads positionally, moves, links and prunes', async () => {
    const w = await drive.createFile(SYS_VOLUME, 'tmp/stage/part.1');
    await w.write([Buffer.from('world')], 6);
    await w.write([Buffer.from('hel'), Buffer.from('lo ')], 0);
    await w.close();
    await drive.rename(SYS_VOLUME, 'tmp/stage', 'vol', 'obj/%d.1');
    await drive.link('vol', 'obj/%d.1/part.1', 'vol', 'copy/part.1');
    const r = await drive.openFile('vol', 'copy/part.1');
    const a = Buffer.alloc(6);
    const b = Buffer.alloc(10);
    assert.equal(await r.readv([a, b], 0), 11, 'a short read at the end of the file');
    await r.close();
    assert.equal(a.toString() + b.subarray(0, 5).toString(), 'hello world');
    // Readers hold bare descriptors: a second close must not close whatever file got the number since.
    const other = await drive.openFile('vol', 'obj/%d.1/part.1');
    await r.close();
    const c = Buffer.alloc(11);
    assert.equal(await other.readv([c], 0), 11, 'the next reader still reads after a double close');
    assert.equal(c.toString(), 'hello world');
    await other.close();
    await assert.rejects(other.readv([c], 0), 'a read after close fails');

    // Close waits for a read in flight (here the disk takes 50 ms to answer it): the descriptor must not be closed
    // under the read, whose number could meanwhile name another file.
    const target = nodeFs as unknown as { readv: typeof nodeFs.readv };
    const realReadv = target.readv;
    target.readv = ((fd: number, buffers: Buffer[], position: number, cb: never) =>
      setTimeout(() => realReadv(fd, buffers, position, cb), 50)) as unknown as typeof nodeFs.readv;
    try {
      const slow = await drive.openFile('vol', 'copy/part.1');
      const d = Buffer.alloc(11);
      const reading = slow.readv([d], 0);
      await slow.close();
      assert.equal(await reading, 11);
      assert.equal(d.toString(), 'hello world');
    } finally {
      target.readv = realReadv;
    }
    // A shard source closed before its first read never opens its file (nobody would close it).
    const lazy = new LazyFileSource(drive, 'vol', 'copy/part.1');
    await lazy.close();
    await assert.rejects(lazy.readv([Buffer.alloc(1)], 0), /is closed/);
    assert.equal(statSync(join(root, 'vol', 'copy', 'part.1')).nlink, 2);
    await drive.delete('vol', 'obj/%d.1', { recursive: true, prune: true });
    assert.equal(existsSync(join(root, 'vol', 'obj')), false, 'the emptied parent is pruned');
    assert.equal(existsSync(join(root, 'vol')), true, 'the volume itself stays');
    assert.deepEqual(leftovers(), []);
  });

  it('deletes recursively whatever the target is: files only, a tree, a symlink, a file, nothing', async () => {
    const made = (rel: string, what: 'file' | 'dir'): void => {
      const abs = join(root, 'vol', rel);
      mkdirSync(what === 'dir' ? abs : join(abs, '..'), { recursive: true });
      if (what === 'file') writeFileSync(abs, rel);
    };
    for (const f of ['flat/part.1', 'flat/part.2', 'flat/part.3']) made(f, 'file');
    made('tree/part.1', 'file');
    made('tree/sub/deeper/x', 'file');
    made('tree/empty-sub', 'dir');
    made('linked/part.1', 'file');
    made('elsewhere/kept', 'file');
    symlinkSync(join(root, 'vol', 'elsewhere'), join(root, 'vol', 'linked', 'to-elsewhere'));
    symlinkSync(join(root, 'vol', 'elsewhere'), join(root, 'vol', 'link-to-dir')); // the target itself a link
    symlinkSync(join(root, 'vol', 'gone'), join(root, 'vol', 'dangling'));
    made('just-a-file', 'file');
    made('empty', 'dir');
    for (const rel of [
      'flat',
      'tree',
      'linked',
      'link-to-dir',
      'dangling',
      'just-a-file',
      'empty',
      'never-there',
    ]) {
      await drive.delete('vol', rel, { recursive: true });
      assert.throws(() => lstatSync(join(root, 'vol', rel)), { code: 'ENOENT' }, rel);
    }
    assert.equal(
      readFileSync(join(root, 'vol', 'elsewhere', 'kept'), 'utf8'),
      'elsewhere/kept',
      'not followed',
    );
    await drive.delete('vol', 'elsewhere', { recursive: true });
  });
});

describe('LocalDrive.walk', () => {
  const long = 'L'.repeat(300);
  const keys = [
    'a',
    'a/b',
    'a-c',
    'a.b',
    'a/b/c',
    'a//b',
    'a\0b',
    'ab/cd/ef',
    'ab-/x',
    'b',
    'é',
    '\uE000',
    '\u{1F600}',
    'z/\u{1F600}',
    'z/\uFFFD',
    '%',
    '%41',
    'k%2F',
    '.',
    '..',
    '/x',
    'x/',
    long,
    `${long}/in`,
  ];
  const cmp = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

  const recursiveModel = (prefix: string, marker: string): string[] =>
    keys
      .filter((k) => k.startsWith(prefix) && cmp(k, marker) > 0)
      .sort(cmp)
      .map((k) => `O:${k}`);

  const delimitedModel = (prefix: string, marker: string): string[] => {
    const entries = new Map<string, string>();
    for (const k of keys.filter((key) => key.startsWith(prefix))) {
      const at = k.indexOf('/', prefix.length);
      const key = at < 0 ? k : k.slice(0, at + 1);
      if (cmp(key, marker) > 0) entries.set(key, at < 0 ? `O:${key}` : `P:${key}`);
    }
    return [...entries.keys()].sort(cmp).map((k) => entries.get(k)!);
  };

  const tmp = tempDrives(4, 'local-drive-walk');
  let pool: ErasurePool;
  let drives: FaultyDrive[];
  let drive: Drive;

  before(async () => {
    ({ pool, drives } = await faultyPool(tmp.paths));
    await pool.makeBucket('bkt');
    for (const key of keys) await pool.putObject('bkt', key, streamOf(Buffer.from(key)));
    drive = drives[0].inner;
  });
  after(async () => {
    await pool.shutdown();
    tmp.cleanup();
  });

  it('lists every key in UTF-8 byte order', async () => {
    assert.deepEqual(await collect(drive, 'bkt', { recursive: true }), recursiveModel('', ''));
  });

  const prefixes = [
    '',
    'a',
    'a/',
    'a/b',
    'a/b/',
    'ab',
    'z/',
    'x/',
    '%',
    '.',
    'é',
    long,
    `${long}/`,
    'nothing',
  ];
  const markers = ['', 'a', 'a-c', 'a/b', 'ab-/x', 'é', '\uE000', long, 'zzz'];
  for (const prefix of prefixes) {
    it(`recursive walk, prefix ${JSON.stringify(prefix.slice(0, 12))}, every marker`, async () => {
      for (const marker of markers) {
        assert.deepEqual(
          await collect(drive, 'bkt', { prefix, marker, recursive: true }),
          recursiveModel(prefix, marker),
          `marker ${JSON.stringify(marker.slice(0, 12))}`,
        );
      }
    });
  }

  // Markers that do not fall inside a common prefix: with those, the walk reports exactly the entries after them.
  const delimitedMarkers = ['', 'a-c', 'ab-/', 'é', 'zzz'];
  for (const prefix of ['', 'a', 'a/', 'ab', 'ab/', 'z/', 'x/', long, `${long}/`]) {
    it(`delimited walk, prefix ${JSON.stringify(prefix.slice(0, 12))}: objects and common prefixes`, async () => {
      for (const marker of delimitedMarkers) {
        assert.deepEqual(
          await collect(drive, 'bkt', { prefix, marker, recursive: false }),
          delimitedModel(prefix, marker),
          `marker ${JSON.stringify(marker)}`,
        );
      }
    });
  }

  it('finds keys below a prefix that starts with "/"', async () => {
    assert.deepEqual(await collect(drive, 'bkt', { prefix: '/', recursive: true }), ['O:/x']);
    assert.deepEqual(await collect(drive, 'bkt', { prefix: '/x', recursive: true }), ['O:/x']);
    assert.deepEqual(await collect(drive, 'bkt', { prefix: '/', recursive: false }), ['O:/x']);
  });

  it('yields nothing for a missing bucket or a prefix no key can have', async () => {
    assert.deepEqual(await collect(drive, 'no-such-bucket', { recursive: true }), []);
    assert.deepEqual(await collect(drive, 'bkt', { prefix: `${'p/'.repeat(600)}`, recursive: true }), []);
  });

  it('orders like compareKeys', () => {
    const sorted = [...keys].sort(compareKeys);
    assert.deepEqual(sorted, [...keys].sort(cmp));
  });
});
