/**
 * storage-server.ts as a peer meets it, over real HTTP on 127.0.0.1: nothing runs for a request that is unsigned,
 * badly signed, replayed, tampered with, malformed, or for a drive the node does not serve; a drive whose directory
 * is not ASCII is reached by its URL; and a RemoteDrive of a node that goes away is DriveOffline, fails fast for
 * OFFLINE_BACKOFF_MS, then is used again.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, afterEach, before, describe, it, mock } from 'node:test';
import { inspect } from 'node:util';
import { tempDrives } from '../../../test/fixtures/temp-drives';
import type { Drive } from '../drive/drive';
import { LocalDrive } from '../drive/local-drive';
import { isStorageError } from '../errors';
import { SYS_VOLUME } from '../layout';
import { OFFLINE_BACKOFF_MS, RemoteDrive } from './remote-drive';
import { StorageServer } from './storage-server';
import {
  encodeArgs,
  H_ARGS,
  H_AUTH,
  H_DATE,
  H_DRIVE,
  MAX_SKEW_MS,
  sign,
  STORAGE_PATH,
  storageKey,
} from './storage-wire';

const SECRET = 'storage-server spec cluster secret';
const HOST = '127.0.0.1';

/** Walks all of `vol` (to see a walk refused). */
async function walkAll(drive: Drive): Promise<void> {
  for await (const entry of drive.walk('vol', { recursive: true })) void entry;
}

/** One raw storage API call over node:http, signed (or not) however the test says. */
async function rawCall(
  port: number,
  call: {
    op: string;
    drive: string;
    /** Send this drive header as it is, instead of the encoded `drive` (a malformed one). */
    rawDrive?: string;
    args: unknown;
    body?: Buffer;
    date?: number;
    /** Sign these instead of what is sent (a request altered on the way). */
    signedArgs?: unknown;
    signedBody?: Buffer;
  },
): Promise<{ status: number; body: string }> {
  const body = call.body ?? Buffer.alloc(0);
  const drive = call.rawDrive ?? encodeURIComponent(call.drive);
  const args = encodeArgs(call.args);
  const date = String(call.date ?? Date.now());
  const auth = sign(
    storageKey(SECRET),
    call.op,
    drive,
    call.signedArgs === undefined ? args : encodeArgs(call.signedArgs),
    date,
    call.signedBody ?? body,
  );
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: HOST,
        port,
        method: 'POST',
        path: STORAGE_PATH + call.op,
        headers: {
          [H_DRIVE]: drive,
          [H_ARGS]: args,
          [H_DATE]: date,
          [H_AUTH]: auth,
          'content-length': body.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('StorageServer runs nothing it should not', () => {
  const tmp = tempDrives(1, 'remote-refusals');
  const served = new LocalDrive(tmp.paths[0], false);
  const driveDir = tmp.paths[0];
  let server: StorageServer;
  let port: number;
  const written = (path: string) =>
    served.readFile('vol', path).then(
      () => true,
      (err: unknown) => {
        if (isStorageError(err, 'FileNotFound')) return false;
        throw err;
      },
    );

  before(async () => {
    await served.makeVolume(SYS_VOLUME);
    await served.makeVolume('vol');
    server = new StorageServer(new Map([[driveDir, served]]), SECRET);
    port = await server.listen(HOST, 0);
  });
  after(async () => {
    await server.close();
    await served.close();
    tmp.cleanup();
  });

  const write = (path: string, extra: Partial<Parameters<typeof rawCall>[1]> = {}) =>
    rawCall(port, {
      op: 'writeFileAtomic',
      drive: driveDir,
      args: { volume: 'vol', path },
      body: Buffer.from(`contents of ${path}`),
      ...extra,
    });

  it('runs a well-signed raw request (the crafting below is right)', async () => {
    assert.equal((await write('raw-ok')).status, 204);
    assert.equal((await served.readFile('vol', 'raw-ok')).toString(), 'contents of raw-ok');
  });

  it('refuses a RemoteDrive with another secret as DriveOffline, and runs nothing', async () => {
    const wrong = new RemoteDrive(`http://${HOST}:${port}${driveDir}`, 'another secret');
    await assert.rejects(wrong.writeFileAtomic('vol', 'wrong-secret', Buffer.from('x')), (err: unknown) => {
      assert.ok(isStorageError(err, 'DriveOffline'), inspect(err));
      assert.match(err.message, /signature does not match/);
      return true;
    });
    await assert.rejects(wrong.makeVolume('wrong-volume'), { code: 'DriveOffline' });
    await assert.rejects(wrong.readFile('vol', 'raw-ok'), { code: 'DriveOffline' });
    await assert.rejects(walkAll(wrong), { code: 'DriveOffline' });
    assert.equal(await written('wrong-secret'), false);
    assert.equal(existsSync(join(driveDir, 'wrong-volume')), false);
  });

  it('refuses, with 403, requests dated outside the replay window', async () => {
    for (const date of [Date.now() - MAX_SKEW_MS - 60_000, Date.now() + MAX_SKEW_MS + 60_000]) {
      const answer = await write('replayed', { date });
      assert.equal(answer.status, 403, answer.body);
      assert.equal((JSON.parse(answer.body) as { code: string }).code, 'AccessDenied');
      assert.match(answer.body, /replay window/);
    }
    assert.equal(await written('replayed'), false);
  });

  it('refuses a body or arguments other than the signed ones', async () => {
    const body = await write('tampered', { signedBody: Buffer.from('contents of something else') });
    assert.equal(body.status, 403, body.body);
    const args = await write('tampered-args', { signedArgs: { volume: 'vol', path: 'innocent' } });
    assert.equal(args.status, 403, args.body);
    assert.equal(await written('tampered'), false);
    assert.equal(await written('tampered-args'), false);
    assert.equal(await written('innocent'), false);
  });

  it('refuses unsigned requests and requests that are not storage calls', async () => {
    const unsigned = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: HOST, port, method: 'POST', path: `${STORAGE_PATH}writeFileAtomic` },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('x');
    });
    assert.equal(unsigned, 403);
    assert.equal((await rawCall(port, { op: 'unlinkEverything', drive: driveDir, args: {} })).status, 400);
  });

  it('answers DriveOffline for a drive this node does not serve, and touches nothing', async () => {
    const other = join(tmp.root, 'not-served');
    const stranger = new RemoteDrive(`http://${HOST}:${port}${other}`, SECRET);
    await assert.rejects(stranger.makeVolume('vol'), (err: unknown) => {
      assert.ok(isStorageError(err, 'DriveOffline'), inspect(err));
      assert.match(err.message, /serves no drive/);
      return true;
    });
    await assert.rejects(stranger.readFile('vol', 'raw-ok'), { code: 'DriveOffline' });
    await assert.rejects(walkAll(stranger), { code: 'DriveOffline' });
    assert.equal(existsSync(other), false);
  });
});

describe('RemoteDrive of a drive whose directory is not ASCII', () => {
  const tmp = tempDrives(0, 'remote-names');
  // Spaces, Latin-1 and characters beyond it: the URL carries them percent-encoded, a header cannot carry them raw.
  const dir = join(tmp.root, 'disk 1 é 日本');
  const served = new LocalDrive(dir, false);
  let server: StorageServer;
  let port: number;

  before(async () => {
    await served.makeVolume('vol');
    server = new StorageServer(new Map([[dir, served]]), SECRET);
    port = await server.listen(HOST, 0);
  });
  after(async () => {
    await server.close();
    await served.close();
    tmp.cleanup();
  });

  it('reaches it by its URL', async () => {
    const url = new URL(`http://${HOST}:${port}${dir}`).href;
    assert.ok(url.includes('%E6%97%A5'), url);
    const remote = new RemoteDrive(url, SECRET);
    await remote.writeFileAtomic('vol', 'f', Buffer.from('there'));
    assert.equal((await served.readFile('vol', 'f')).toString(), 'there');
    assert.deepEqual(await remote.listVolumes(), ['vol']);
  });

  it('answers a malformed drive name as a bad request', async () => {
    const answer = await rawCall(port, { op: 'listVolumes', drive: dir, rawDrive: '%E6%97', args: {} });
    assert.equal(answer.status, 400, answer.body);
  });
});

describe('RemoteDrive of a node that stops and comes back', () => {
  const tmp = tempDrives(1, 'remote-offline');
  const served = new LocalDrive(tmp.paths[0], false);
  const drives = new Map([[tmp.paths[0], served]]);
  let server: StorageServer | undefined;
  let port: number;

  before(async () => {
    await served.makeVolume('vol');
    server = new StorageServer(drives, SECRET);
    port = await server.listen(HOST, 0);
  });
  afterEach(() => mock.timers.reset());
  after(async () => {
    await server?.close();
    await served.close();
    tmp.cleanup();
  });

  it('is DriveOffline while the node is down, fails fast for a while, then works again', async () => {
    const url = `http://${HOST}:${port}${tmp.paths[0]}`;
    const remote = new RemoteDrive(url, SECRET);
    await remote.writeFileAtomic('vol', 'before', Buffer.from('before'));
    // The clock stands still from here (requests and the server's replay check read the same clock): the backoff
    // window ends when the test says so, not when a slow machine happens to get there.
    mock.timers.enable({ apis: ['Date'], now: Date.now() });
    await server!.close();
    server = undefined;

    await assert.rejects(remote.writeFileAtomic('vol', 'while-down', Buffer.from('x')), (err: unknown) => {
      assert.ok(isStorageError(err, 'DriveOffline'), inspect(err));
      assert.doesNotMatch(err.message, /retrying soon/, 'a real connection attempt');
      return true;
    });

    server = new StorageServer(drives, SECRET);
    assert.equal(await server.listen(HOST, port), port, 'back on the same port');
    // Within the window: refused without a connection, though the node answers (a new client is served).
    await assert.rejects(remote.readFile('vol', 'before'), (err: unknown) => {
      assert.ok(isStorageError(err, 'DriveOffline'), inspect(err));
      assert.match(err.message, /retrying soon/);
      return true;
    });
    assert.equal((await new RemoteDrive(url, SECRET).readFile('vol', 'before')).toString(), 'before');

    mock.timers.tick(OFFLINE_BACKOFF_MS - 1);
    await assert.rejects(remote.readFile('vol', 'before'), { code: 'DriveOffline' });
    mock.timers.tick(1);
    assert.equal((await remote.readFile('vol', 'before')).toString(), 'before');
    await remote.writeFileAtomic('vol', 'after', Buffer.from('after'));
    assert.equal((await served.readFile('vol', 'after')).toString(), 'after');
    await assert.rejects(served.readFile('vol', 'while-down'), { code: 'FileNotFound' });
  });

  it('is DriveOffline once closed', async () => {
    const remote = new RemoteDrive(`http://${HOST}:${port}${tmp.paths[0]}`, SECRET);
    await remote.close();
    await assert.rejects(remote.listVolumes(), { code: 'DriveOffline' });
  });
});
