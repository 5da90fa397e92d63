/**
 * dir-remover.ts and dir-removal.ts: a job removes a tree (never following a symlink) and prunes the emptied
 * directories above it up to the volume, on the worker thread, so it finishes while the event loop is blocked; a
 * failed removal rejects with its errno code; a closed remover fails what is pending and starts again on demand.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { HASHED_PREFIX, NAME_FILE } from '../layout';
import { DirRemover } from './dir-remover';

describe('DirRemover', () => {
  const remover = new DirRemover();
  const roots: string[] = [];
  let root: string;
  let volume: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tiergate-remover-'));
    roots.push(root);
    volume = join(root, 'bucket');
    mkdirSync(volume);
  });
  after(async () => {
    await remover.close();
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  /** A data dir `rel` holding `files` part files under the volume. */
  function dataDir(rel: string, files = 1): string {
    const dir = join(volume, rel);
    mkdirSync(dir, { recursive: true });
    for (let i = 1; i <= files; i++) writeFileSync(join(dir, `part.${i}`), `part ${i}`);
    return dir;
  }

  it('removes a data dir and prunes its emptied parents, stopping at the first one still in use', async () => {
    const dir = dataDir('photos/2024/cat.jpg/dd-1', 3);
    writeFileSync(join(volume, 'photos', 'other'), 'x');
    await remover.run({ remove: dir, prune: { root: volume, dir: 'photos/2024/cat.jpg' } });
    assert.equal(existsSync(join(volume, 'photos', '2024')), false);
    assert.deepEqual(readdirSync(join(volume, 'photos')), ['other']);
    // The volume itself is never pruned, even when it ends up empty.
    const lone = dataDir('k/dd-2');
    rmSync(join(volume, 'photos'), { recursive: true });
    await remover.run({ remove: lone, prune: { root: volume, dir: 'k' } });
    assert.deepEqual(readdirSync(volume), []);
    assert.equal(existsSync(volume), true);
  });

  it('removes a tree that is not flat, and a single file', async () => {
    const dir = dataDir('tree/a/b', 2);
    dataDir('tree/c');
    await remover.run({ remove: join(volume, 'tree') });
    assert.equal(existsSync(join(volume, 'tree')), false);
    writeFileSync(join(volume, 'file'), 'x');
    await remover.run({ remove: join(volume, 'file') });
    assert.deepEqual(readdirSync(volume), []);
    assert.equal(existsSync(dir), false);
  });

  it('removes a symlink to a directory as a link and leaves what it points to', async () => {
    const outside = join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'precious'), 'keep me');
    mkdirSync(join(volume, 'key'));
    symlinkSync(outside, join(volume, 'key', 'dd-1'));
    await remover.run({ remove: join(volume, 'key', 'dd-1'), prune: { root: volume, dir: 'key' } });
    assert.deepEqual(readdirSync(outside), ['precious']);
    assert.deepEqual(readdirSync(volume), []);
  });

  it('treats a target that is already gone as removed, and still prunes', async () => {
    mkdirSync(join(volume, 'empty', 'key'), { recursive: true });
    await remover.run({
      remove: join(volume, 'empty', 'key', 'dd-gone'),
      prune: { root: volume, dir: 'empty/key' },
    });
    assert.deepEqual(readdirSync(volume), []);
  });

  it('prunes a hashed directory that holds only its name file, and keeps one that holds more', async () => {
    const hashed = `${HASHED_PREFIX}0123abcd`;
    const dir = dataDir(`${hashed}/dd-1`);
    writeFileSync(join(volume, hashed, NAME_FILE), 'a-very-long-segment');
    await remover.run({ remove: dir, prune: { root: volume, dir: hashed } });
    assert.deepEqual(readdirSync(volume), []);

    const kept = dataDir(`${hashed}/dd-2`);
    writeFileSync(join(volume, hashed, NAME_FILE), 'a-very-long-segment');
    mkdirSync(join(volume, hashed, 'dd-3'));
    await remover.run({ remove: kept, prune: { root: volume, dir: hashed } });
    assert.deepEqual(readdirSync(join(volume, hashed)).sort(), [NAME_FILE, 'dd-3'].sort());
  });

  it('rejects a failed removal with its errno code', async () => {
    writeFileSync(join(volume, 'file'), 'x');
    await assert.rejects(remover.run({ remove: join(volume, 'file', 'below') }), { code: 'ENOTDIR' });
    // The failure does not stop the worker.
    const dir = dataDir('after/dd');
    await remover.run({ remove: dir });
    assert.equal(existsSync(dir), false);
  });

  it('finishes a removal while the event loop is blocked (it runs on its own thread)', async () => {
    const dir = dataDir('busy/key/dd', 4);
    const done = remover.run({ remove: dir, prune: { root: volume, dir: 'busy/key' } });
    // A removal through the libuv pool needs the event loop between its steps (lstat, readdir, unlink, rmdir) and
    // would never get this far while this loop spins.
    const deadline = Date.now() + 10_000;
    while (existsSync(join(volume, 'busy')) && Date.now() < deadline) {
      /* spin: the event loop does not run */
    }
    assert.equal(
      existsSync(join(volume, 'busy')),
      false,
      'the tree was removed while the event loop was blocked',
    );
    await done;
  });

  it('fails what is pending when closed, and starts a new worker for the next job', async () => {
    const dirs = Array.from({ length: 20 }, (_, i) => dataDir(`closing/k${i}/dd`, 2));
    const pending = dirs.map((d) =>
      remover.run({ remove: d }).then(
        () => 'done',
        (err: Error) => err.message,
      ),
    );
    await remover.close();
    const outcomes = await Promise.all(pending);
    for (const o of outcomes) assert.ok(o === 'done' || /closed/.test(o), o);
    const dir = dataDir('reopened/dd');
    await remover.run({ remove: dir });
    assert.equal(existsSync(dir), false);
  });
});
