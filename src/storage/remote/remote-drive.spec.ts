/**
 * remote-drive.ts against a real storage-server.ts on 127.0.0.1: every Drive call through the storage API does what
 * the same call does on a LocalDrive (results, bytes, errors), and walks stream in frames of any size and stop when
 * their consumer stops. What the server refuses, and a node that goes away: storage-server.spec.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { randomBytes, seededRandom } from '../../../test/fixtures/prng';
import { tempDrives } from '../../../test/fixtures/temp-drives';
import type { Drive, DriveInfo, FileReader, FileWriter, WalkEntry, WalkOptions } from '../drive/drive';
import { LocalDrive } from '../drive/local-drive';
import { LOG_META_MAX } from '../drive/meta-log';
import { isStorageError } from '../errors';
import { objectDir, SYS_VOLUME } from '../layout';
import { RemoteDrive } from './remote-drive';
import { StorageServer } from './storage-server';
import { encodeFrame, FRAME_ENTRY } from './storage-wire';

const SECRET = 'remote-drive spec cluster secret';
const HOST = '127.0.0.1';

/** What a call came to: its value, or the code of the StorageError it threw (anything else fails the test). */
type Outcome<T> = { value: T } | { code: string };
async function outcome<T>(p: Promise<T>): Promise<Outcome<T>> {
  try {
    return { value: await p };
  } catch (err) {
    assert.ok(isStorageError(err), `expected a StorageError, got ${inspect(err)}`);
    return { code: err.code };
  }
}

async function collect(drive: Drive, volume: string, opts: WalkOptions): Promise<WalkEntry[]> {
  const out: WalkEntry[] = [];
  for await (const e of drive.walk(volume, opts)) out.push(e);
  return out;
}

/** Waits (at most `ms`) until `done()` holds; returns whether it did. */
async function eventually(done: () => boolean, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await delay(10);
  return done();
}

describe('RemoteDrive answers every Drive call as the LocalDrive it reaches', () => {
  const tmp = tempDrives(2, 'remote-drive');
  const served = new LocalDrive(tmp.paths[0], false);
  // The same calls go to a second LocalDrive directly: the remote results must equal its results.
  const reference = new LocalDrive(tmp.paths[1], false);
  let server: StorageServer;
  let remote: RemoteDrive;

  /** Runs `call` on the reference drive and through the remote one; both must come to the same; returns it. */
  async function same<T>(what: string, call: (d: Drive) => Promise<T>): Promise<Outcome<T>> {
    const want = await outcome(call(reference));
    const got = await outcome(call(remote));
    assert.deepEqual(got, want, what);
    return got;
  }

  before(async () => {
    server = new StorageServer(new Map([[tmp.paths[0], served]]), SECRET);
    const port = await server.listen(HOST, 0);
    remote = new RemoteDrive(`http://${HOST}:${port}${tmp.paths[0]}`, SECRET);
    for (const d of [served, reference]) {
      await d.makeVolume(SYS_VOLUME);
      await d.makeVolume('vol');
    }
  });
  after(async () => {
    await remote.close();
    await server.close();
    await served.close();
    await reference.close();
    tmp.cleanup();
  });

  it('makes, lists, stats and deletes volumes', async () => {
    await same('makeVolume', (d) => d.makeVolume('made'));
    await same('makeVolume again', (d) => d.makeVolume('made'));
    assert.ok(existsSync(join(tmp.paths[0], 'made')), 'made on the serving drive');
    const listed = await same('listVolumes', async (d) => (await d.listVolumes()).sort());
    assert.deepEqual(listed, { value: ['made', 'vol'] });
    const created = await remote.statVolume('made');
    assert.ok(created.created instanceof Date);
    assert.equal(created.created.getTime(), (await served.statVolume('made')).created.getTime());
    await same('statVolume of a missing volume', (d) => d.statVolume('missing'));
    await same('deleteVolume', (d) => d.deleteVolume('made'));
    assert.equal(existsSync(join(tmp.paths[0], 'made')), false, 'deleted on the serving drive');
    await same('deleteVolume of a missing volume', (d) => d.deleteVolume('made'));
    assert.deepEqual(await same('statVolume after delete', (d) => d.statVolume('made')), {
      code: 'FileNotFound',
    });
  });

  it('reads metadata as null or bytes, and writes it to the log or to a %meta file', async () => {
    const key = 'meta/key é';
    const dir = objectDir(key);
    const bytes = randomBytes(seededRandom(1), 1000);
    const big = randomBytes(seededRandom(2), 300 * 1024); // over the log's limit: a %meta file either way
    assert.deepEqual(await same('readMeta of a new key', (d) => d.readMeta('vol', dir)), { value: null });

    await same('writeMeta to the log', (d) => d.writeMeta('vol', dir, key, bytes, {}));
    assert.deepEqual(await same('readMeta', (d) => d.readMeta('vol', dir)), { value: bytes });
    assert.equal(existsSync(join(tmp.paths[0], 'vol', dir, '%meta')), false, 'in the log, not a file');
    assert.deepEqual(await served.readMeta('vol', dir), bytes);

    await same('writeMeta too large for the log', (d) => d.writeMeta('vol', dir, key, big, {}));
    assert.ok(existsSync(join(tmp.paths[0], 'vol', dir, '%meta')), 'too large for the log: a %meta file');
    assert.deepEqual(await same('readMeta of the large file', (d) => d.readMeta('vol', dir)), { value: big });

    const fresh = objectDir('fresh');
    await same('writeMeta fresh', (d) => d.writeMeta('vol', fresh, 'fresh', bytes, { fresh: true }));
    assert.deepEqual(await served.readMeta('vol', fresh), bytes);

    await same('deleteMeta', (d) => d.deleteMeta('vol', dir));
    assert.deepEqual(await same('readMeta after delete', (d) => d.readMeta('vol', dir)), { value: null });
    assert.equal(existsSync(join(tmp.paths[0], 'vol', 'meta')), false, 'emptied parents pruned');
    await same('deleteMeta of missing metadata', (d) => d.deleteMeta('vol', dir));
  });

  it('reads and writes whole files', async () => {
    const data = randomBytes(seededRandom(3), 3 * 1024 * 1024 + 17);
    await same('writeFileAtomic', (d) => d.writeFileAtomic('vol', 'files/deep/whole', data));
    assert.deepEqual(await same('readFile', (d) => d.readFile('vol', 'files/deep/whole')), { value: data });
    assert.deepEqual(await served.readFile('vol', 'files/deep/whole'), data);
    await same('writeFileAtomic empty', (d) => d.writeFileAtomic('vol', 'files/empty', Buffer.alloc(0)));
    assert.deepEqual(await same('readFile empty', (d) => d.readFile('vol', 'files/empty')), {
      value: Buffer.alloc(0),
    });
    await same('writeFileAtomic over a file', (d) =>
      d.writeFileAtomic('vol', 'files/empty', Buffer.from('replaced')),
    );
    assert.equal((await served.readFile('vol', 'files/empty')).toString(), 'replaced');
  });

  it('writes files positionally, closes and aborts them', async () => {
    const write = async (d: Drive, path: string, end: (w: FileWriter) => Promise<void>) => {
      const w = await d.createFile(SYS_VOLUME, path);
      await w.write([Buffer.from('world')], 6);
      await w.write([Buffer.from('hel'), Buffer.from('lo ')], 0);
      await end(w);
    };
    await same('createFile, write, close', (d) => write(d, 'tmp/stage/part.1', (w) => w.close()));
    assert.deepEqual(await same('readFile', (d) => d.readFile(SYS_VOLUME, 'tmp/stage/part.1')), {
      value: Buffer.from('hello world'),
    });
    await same('createFile, write, abort', (d) => write(d, 'tmp/aborted/part.1', (w) => w.abort()));
    await same('list after abort', async (d) => (await d.list(SYS_VOLUME, 'tmp/aborted')).sort());
    await same('createFile over a directory', (d) => d.createFile(SYS_VOLUME, 'tmp/stage').then(() => 'x'));

    // The remote writer is a handle on the server: closed once, it is gone.
    const w = await remote.createFile(SYS_VOLUME, 'tmp/once/part.1');
    await w.write([Buffer.from('x')], 0);
    await w.close();
    await assert.rejects(w.write([Buffer.from('y')], 1), { code: 'FileNotFound' });
    await assert.rejects(w.close(), { code: 'FileNotFound' });
    assert.equal((await served.readFile(SYS_VOLUME, 'tmp/once/part.1')).toString(), 'x');
  });

  it('reads files positionally into several buffers, short at the end of the file', async () => {
    const data = randomBytes(seededRandom(4), 2 * 1024 * 1024 + 100);
    await served.writeFileAtomic('vol', 'readv/file', data);
    await reference.writeFileAtomic('vol', 'readv/file', data);
    const reads: [number[], number][] = [
      [[6, 10], 0],
      [[1024 * 1024, 1024 * 1024, 50], 0], // all but 50 bytes
      [[1024 * 1024, 1024 * 1024, 1024], 0], // short: ends inside the last buffer
      [[10, 20, 30], data.length - 25], // short: ends inside the second buffer
      [[7], data.length], // at the end: nothing
      [[7, 7], data.length + 1000], // past the end: nothing
      [[0, 5], 3],
    ];
    const readAll = async (d: Drive) => {
      const r: FileReader = await d.openFile('vol', 'readv/file');
      const out: { n: number; buffers: Buffer[] }[] = [];
      for (const [sizes, position] of reads) {
        const buffers = sizes.map((s) => Buffer.alloc(s, 0xee));
        out.push({ n: await r.readv(buffers, position), buffers });
      }
      await r.close();
      return out;
    };
    const got = await same('openFile, readv, close', readAll);
    assert.ok('value' in got);
    assert.deepEqual(
      got.value.map((r) => r.n),
      [16, data.length - 50, data.length, 25, 0, 0, 5],
    );
    assert.deepEqual(Buffer.concat(got.value[2].buffers).subarray(0, data.length), data);
    assert.deepEqual(got.value[3].buffers[1].subarray(0, 15), data.subarray(data.length - 15));
    assert.ok(
      got.value[3].buffers[2].every((b) => b === 0xee),
      'a buffer past the end is left alone',
    );
    await same('openFile of a missing file', (d) => d.openFile('vol', 'readv/missing').then(() => 'x'));
  });

  it('renames files and directories, links files', async () => {
    for (const d of [served, reference]) {
      await d.writeFileAtomic(SYS_VOLUME, 'tmp/mv/part.1', Buffer.from('one'));
      await d.writeFileAtomic(SYS_VOLUME, 'tmp/mv/part.2', Buffer.from('two'));
      await d.writeFileAtomic('vol', 'single', Buffer.from('single'));
    }
    await same('rename a directory across volumes', (d) => d.rename(SYS_VOLUME, 'tmp/mv', 'vol', 'obj/%d.1'));
    await same('rename a file', (d) => d.rename('vol', 'single', 'vol', 'moved/single'));
    await same('rename a missing file', (d) => d.rename('vol', 'single', 'vol', 'again'));
    await same('link', (d) => d.link('vol', 'obj/%d.1/part.1', 'vol', 'linked/part.1'));
    await same('link a missing file', (d) => d.link('vol', 'nope', 'vol', 'linked/nope'));
    assert.equal(statSync(join(tmp.paths[0], 'vol', 'linked', 'part.1')).nlink, 2);
    assert.equal((await served.readFile('vol', 'moved/single')).toString(), 'single');
    assert.deepEqual(await same('list', async (d) => (await d.list('vol', 'obj/%d.1')).sort()), {
      value: ['part.1', 'part.2'],
    });
  });

  it('lists directories and deletes recursively, pruning', async () => {
    for (const d of [served, reference]) {
      await d.writeFileAtomic('vol', 'tree/a/b/c/file', Buffer.from('x'));
      await d.writeFileAtomic('vol', 'tree/a/other', Buffer.from('x'));
      await d.writeFileAtomic('vol', 'tree/top', Buffer.from('x'));
    }
    assert.deepEqual(await same('list', async (d) => (await d.list('vol', 'tree/a')).sort()), {
      value: ['b/', 'other'],
    });
    assert.deepEqual(await same('list a missing dir', (d) => d.list('vol', 'tree/none')), {
      code: 'FileNotFound',
    });
    await same('delete a file, pruning', (d) => d.delete('vol', 'tree/a/b/c/file', { prune: true }));
    assert.equal(existsSync(join(tmp.paths[0], 'vol', 'tree', 'a', 'b')), false, 'pruned up to a/');
    assert.ok(existsSync(join(tmp.paths[0], 'vol', 'tree', 'a', 'other')));
    await same('delete a non-empty dir', (d) => d.delete('vol', 'tree/a'));
    await same('delete recursive', (d) => d.delete('vol', 'tree/a', { recursive: true }));
    assert.equal(existsSync(join(tmp.paths[0], 'vol', 'tree', 'a')), false);
    assert.ok(existsSync(join(tmp.paths[0], 'vol', 'tree', 'top')), 'not pruned: not asked');
    await same('delete recursive, pruning', (d) =>
      d.delete('vol', 'tree/top', { recursive: true, prune: true }),
    );
    assert.equal(existsSync(join(tmp.paths[0], 'vol', 'tree')), false);
    await same('delete a missing file', (d) => d.delete('vol', 'tree/none'));
  });

  it('reports the serving drive info', async () => {
    const info: DriveInfo = await remote.info();
    assert.equal(info.totalBytes, (await served.info()).totalBytes);
    assert.ok(info.totalBytes > 0 && info.freeBytes >= 0 && info.freeBytes <= info.totalBytes);
  });

  it("passes the serving drive's error codes on", async () => {
    await served.writeFileAtomic('vol', 'keep', Buffer.from('x'));
    await assert.rejects(remote.readFile('vol', 'no/such/file'), { code: 'FileNotFound' });
    await assert.rejects(remote.deleteVolume('vol'), { code: 'BucketNotEmpty' });
    await assert.rejects(remote.makeVolume('Bad_Volume'), { code: 'InvalidArgument' });
    await assert.rejects(remote.readFile('../x', 'f'), { code: 'InvalidArgument' });
    await assert.rejects(remote.readFile('vol', '../../outside'), { code: 'InvalidArgument' });
    await assert.rejects(collect(remote, 'Bad_Volume', { recursive: true }), { code: 'InvalidArgument' });
    assert.deepEqual(await collect(remote, 'no-such-volume', { recursive: true }), []);
    assert.equal(existsSync(join(tmp.paths[0], 'Bad_Volume')), false);
  });

  describe('walk', () => {
    // Thousands of objects with their metadata in the drive's log, every 200th (too large for the log) in a %meta
    // file, so walks merge the two. Every 100th has metadata larger than a socket read (64 KiB), so its frame is
    // always cut across reads.
    const keys = Array.from({ length: 3000 }, (_, i) =>
      i % 3 === 0 ? `top-${i}` : `d${i % 7}/s${i % 11}/obj-${i}`,
    );
    const SOCKET_READ = 64 * 1024;
    const metaOf = (key: string, i: number) =>
      Buffer.concat([
        Buffer.from(key),
        randomBytes(
          seededRandom(i),
          i % 200 === 100 ? LOG_META_MAX + 1 : i % 100 === 0 ? SOCKET_READ + 1000 * (i % 7) : 100 + (i % 400),
        ),
      ]);

    before(async () => {
      await reference.makeVolume('walk');
      await remote.makeVolume('walk');
      for (let at = 0; at < keys.length; at += 100) {
        await Promise.all(
          keys.slice(at, at + 100).flatMap((key, j) => {
            const i = at + j;
            return [reference, remote].map((d) =>
              d.writeMeta('walk', objectDir(key), key, metaOf(key, i), {}),
            );
          }),
        );
      }
    });

    it('streams a walk of thousands of entries, in several reads, whole and in order', async () => {
      const want = await collect(reference, 'walk', { recursive: true });
      assert.equal(want.length, keys.length);
      const frames = want.map((e) => encodeFrame(FRAME_ENTRY, e.key, e.meta).length);
      assert.equal(frames.filter((n) => n > SOCKET_READ).length, 30, 'frames that cannot come in one read');
      const inFiles = keys.filter((k) => existsSync(join(tmp.paths[1], 'walk', objectDir(k), '%meta')));
      assert.equal(inFiles.length, 15, 'keys whose metadata is in a %meta file');
      const got = await collect(remote, 'walk', { recursive: true });
      assert.deepEqual(got, want);
      for (const e of got) assert.deepEqual(e.meta, metaOf(e.key, keys.indexOf(e.key)), e.key);
    });

    const prefixes = ['', 'd3/', 'd3/s5/', 'd3/s5/obj-1', 'top-1', 'nothing'];
    const markers = ['', 'd2/s4/obj-100', 'd3/s5/obj-2000', 'top-2', 'zzz'];
    for (const recursive of [true, false]) {
      it(`walks ${recursive ? 'recursively' : 'one level'} with every prefix and marker`, async () => {
        for (const prefix of prefixes) {
          for (const marker of markers) {
            const opts = { prefix, marker, recursive };
            assert.deepEqual(
              await collect(remote, 'walk', opts),
              await collect(reference, 'walk', opts),
              JSON.stringify(opts),
            );
          }
        }
        const top = await collect(remote, 'walk', { recursive });
        assert.equal(top.filter((e) => e.prefix).length, recursive ? 0 : 7);
      });
    }

    it('stops a walk its consumer leaves, and serves the next call', async () => {
      const want = (await collect(reference, 'walk', { recursive: true })).slice(0, 10);
      const got: WalkEntry[] = [];
      for await (const e of remote.walk('walk', { recursive: true })) {
        got.push(e);
        if (got.length === 10) break;
      }
      assert.deepEqual(got, want);
      const opts = { prefix: 'd3/s5/', recursive: true };
      assert.deepEqual(await collect(remote, 'walk', opts), await collect(reference, 'walk', opts));
      assert.deepEqual((await remote.listVolumes()).sort(), ['vol', 'walk']);
    });
  });
});

/**
 * A drive whose walk never ends (it counts what it yielded and knows when it was stopped): a walk left early can
 * only end on the server if the client drops the answer and the server notices.
 */
class EndlessWalkDrive extends LocalDrive {
  yielded = 0;
  stopped = false;

  override async *walk(): AsyncIterable<WalkEntry> {
    try {
      for (let i = 0; ; i++) {
        this.yielded++;
        yield { key: `k${String(i).padStart(12, '0')}`, meta: Buffer.alloc(1024, i) };
      }
    } finally {
      this.stopped = true;
    }
  }
}

describe('StorageServer ends a walk the client stopped reading', () => {
  const tmp = tempDrives(1, 'remote-walk-stop');
  const endless = new EndlessWalkDrive(tmp.paths[0], false);
  let server: StorageServer;
  let remote: RemoteDrive;

  before(async () => {
    server = new StorageServer(new Map([[tmp.paths[0], endless]]), SECRET);
    const port = await server.listen(HOST, 0);
    remote = new RemoteDrive(`http://${HOST}:${port}${tmp.paths[0]}`, SECRET);
  });
  after(async () => {
    await server.close();
    await endless.close();
    tmp.cleanup();
  });

  it('stops the drive walk when the consumer breaks out of it', async () => {
    let n = 0;
    for await (const e of remote.walk('vol', { recursive: true })) {
      assert.equal(e.key, `k${String(n).padStart(12, '0')}`);
      if (++n === 5) break;
    }
    assert.ok(
      await eventually(() => endless.stopped),
      `the endless walk still runs (${endless.yielded} yielded)`,
    );
    await endless.makeVolume('after');
    assert.deepEqual(await remote.listVolumes(), ['after'], 'the next call is served');
  });
});
