/**
 * One process per drive (storage/drive/drive-owner.ts): a second process opening drives a live gateway process
 * owns is refused with DriveInUse naming the owner (two writers would lose acknowledged writes); drives of a
 * process killed with SIGKILL are taken over; a pool that shut down leaves no owner file behind.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SYS_VOLUME } from '../../src/storage/layout';
import { openObjectLayer } from '../../src/storage/pool';
import { tempDrives } from '../fixtures/temp-drives';

const OPENER = `
const { openObjectLayer } = require(${JSON.stringify(join(__dirname, '..', '..', 'src', 'storage', 'pool.js'))});
openObjectLayer({ drives: JSON.parse(process.argv[1]), setDriveCount: 4, parity: 2, fsync: false }).then(
  () => process.stdout.write('open\\n'),
  (err) => { process.stdout.write('refused ' + err.code + ' ' + err.message + '\\n'); process.exit(3); },
);
setInterval(() => undefined, 1000);
`;

describe('drive ownership across processes', () => {
  const tmp = tempDrives(4, 'drive-owner');
  const children = new Set<ChildProcess>();
  after(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        const gone = once(c, 'exit');
        c.kill('SIGKILL');
        await gone;
      }
    }
    tmp.cleanup();
  });

  /** Starts a process that opens the pool on the drives; resolves with its first line. */
  async function opener(): Promise<{ child: ChildProcess; line: string }> {
    const child = spawn(process.execPath, ['-e', OPENER, JSON.stringify(tmp.paths)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    for (let i = 0; i < 300 && !out.includes('\n') && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!out.includes('\n')) await once(child, 'exit').catch(() => undefined);
    return { child, line: out.split('\n')[0] };
  }

  it('refuses drives a live process owns, and takes over those of a SIGKILLed one', async () => {
    const first = await opener();
    assert.equal(first.line, 'open');
    await assert.rejects(
      openObjectLayer({ drives: tmp.paths, setDriveCount: 4, parity: 2, fsync: false }),
      (err: Error & { code?: string }) =>
        err.code === 'DriveInUse' && err.message.includes(`process ${first.child.pid}`),
    );
    const second = await opener();
    assert.match(second.line, /^refused DriveInUse /);

    const gone = once(first.child, 'exit');
    first.child.kill('SIGKILL');
    await gone;
    const pool = await openObjectLayer({ drives: tmp.paths, setDriveCount: 4, parity: 2, fsync: false });
    assert.ok(tmp.paths.every((p) => existsSync(join(p, SYS_VOLUME, 'owner.json'))));
    await pool.shutdown();
    assert.ok(
      tmp.paths.every((p) => !existsSync(join(p, SYS_VOLUME, 'owner.json'))),
      'released at shutdown',
    );
  });
});
