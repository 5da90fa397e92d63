/** The master key file: created private and atomically, reused, and refused with a clear message when unsafe. */
import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadOrCreateMasterKey, MasterKeyFileError } from './master-key-file';

const root = mkdtempSync(join(tmpdir(), 'tiergate-keyfile-'));
let n = 0;
const fresh = () => join(root, `case${n++}`, 'kms', 'master.key');

function refused(message: RegExp) {
  return (err: unknown) => err instanceof MasterKeyFileError && message.test(err.message);
}

describe('master key file', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  it('is created with mode 0600 in a 0700 directory on first start, and reused afterwards', async () => {
    const path = fresh();
    const first = await loadOrCreateMasterKey(path);
    assert.equal(first.created, true);
    assert.equal(first.key.length, 32);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    assert.match(readFileSync(path, 'latin1'), /^tiergate-kms-master-key v1\n[A-Za-z0-9+/]{43}=\n$/);
    assert.deepEqual(readdirSync(join(path, '..')), ['master.key'], 'no temporary file is left');
    const second = await loadOrCreateMasterKey(path);
    assert.equal(second.created, false);
    assert.ok(second.key.equals(first.key));
  });

  it('gives every concurrent starter the same key', async () => {
    const path = fresh();
    const results = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateMasterKey(path)));
    assert.equal(results.filter((r) => r.created).length, 1);
    for (const r of results) assert.ok(r.key.equals(results[0].key));
    assert.deepEqual(readdirSync(join(path, '..')), ['master.key']);
  });

  it('refuses a file other users can read or write, naming the fix', async () => {
    const path = fresh();
    await loadOrCreateMasterKey(path);
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602]) {
      chmodSync(path, mode);
      await assert.rejects(
        loadOrCreateMasterKey(path),
        refused(new RegExp(`mode 0${mode.toString(8)}.*chmod 600`)),
      );
    }
    chmodSync(path, 0o400);
    assert.equal((await loadOrCreateMasterKey(path)).key.length, 32, 'read-only for the owner is fine');
  });

  it('refuses a malformed file without showing its content', async () => {
    const bad = [
      'tiergate-kms-master-key v1\n' + Buffer.alloc(16, 7).toString('base64') + '\n',
      'tiergate-kms-master-key v2\n' + Buffer.alloc(32, 7).toString('base64') + '\n',
      Buffer.alloc(32, 7).toString('hex') + '\n',
      '',
    ];
    for (const content of bad) {
      const path = fresh();
      await loadOrCreateMasterKey(path);
      writeFileSync(path, content, { mode: 0o600 });
      await assert.rejects(loadOrCreateMasterKey(path), (err) => {
        assert.ok(refused(/is not a tiergate master key file.*backup/)(err), String(err));
        assert.ok(
          content === '' || !(err as Error).message.includes(content.split('\n')[1] || content.trim()),
        );
        return true;
      });
    }
  });

  it('refuses a symbolic link and a directory', async () => {
    const target = fresh();
    await loadOrCreateMasterKey(target);
    const link = fresh();
    await loadOrCreateMasterKey(link);
    rmSync(link);
    symlinkSync(target, link);
    await assert.rejects(loadOrCreateMasterKey(link), refused(/symbolic link/));
    const dir = fresh();
    await loadOrCreateMasterKey(dir);
    rmSync(dir);
    mkdirSync(dir, { mode: 0o700 });
    await assert.rejects(loadOrCreateMasterKey(dir), refused(/not a regular file/));
  });
});
