/**
 * A drive of another node, reached through that node's internal storage API (wire format in storage-wire.ts).
 * To the erasure layer it is a Drive like any other: every call does what it says or throws a StorageError.
 *
 * - The serving node's StorageErrors come back as the same codes (FileNotFound stays a fact for quorum counting).
 * - A node that cannot be reached (refused, reset, silent for IDLE_TIMEOUT_MS) is DriveOffline. After such a
 *   failure the drive answers DriveOffline at once for OFFLINE_BACKOFF_MS instead of piling connection attempts
 *   on a node that is down; the first call after that tries again, so a node that comes back is used again.
 * - A peer that refuses our signature (another cluster secret, a clock off by minutes) is DriveOffline too, with
 *   its reason in the message: to this node its drives are unusable, not corrupt.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import type {
  DriveInfo,
  Drive,
  FileReader,
  FileWriter,
  WalkEntry,
  WalkOptions,
  WriteMetaOptions,
  DeleteMetaOptions,
} from '../drive/drive';
import { storageError, StorageError, type StorageErrorCode } from '../errors';
import {
  decodeFrames,
  encodeArgs,
  FRAME_END,
  FRAME_ENTRY,
  FRAME_ERROR,
  H_ARGS,
  H_AUTH,
  H_DATE,
  H_DRIVE,
  sign,
  STORAGE_PATH,
  storageKey,
  type StorageOp,
} from './storage-wire';

/** A request whose connection stays silent this long fails as DriveOffline, ms. */
export const IDLE_TIMEOUT_MS = 60_000;
/** How long a drive whose node could not be reached answers DriveOffline without trying, ms. */
export const OFFLINE_BACKOFF_MS = 2_000;
/** How long a connection attempt may take, ms. */
const CONNECT_TIMEOUT_MS = 5_000;

/** Codes a peer may send back that this node throws as they are. */
const PASSED_ON = new Set<StorageErrorCode>([
  'BucketNotFound',
  'BucketExists',
  'BucketNotEmpty',
  'InvalidBucketName',
  'InvalidArgument',
  'InvalidObjectName',
  'DriveOffline',
  'DriveInUse',
  'DriveFaulty',
  'FileNotFound',
  'FileCorrupt',
  'UnformattedDrive',
  'ForeignDrive',
  'InvalidFormat',
]);

/** One keep-alive agent per peer origin, shared by all of its drives. */
const agents = new Map<string, Agent>();
function agentFor(origin: string): Agent {
  let agent = agents.get(origin);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16, timeout: IDLE_TIMEOUT_MS });
    agents.set(origin, agent);
  }
  return agent;
}

interface Answer {
  status: number;
  body: Buffer;
}

export class RemoteDrive implements Drive {
  readonly endpoint: string;
  private readonly url: URL;
  private readonly key: Buffer;
  private offlineUntil = 0;
  private closed = false;

  /** `url`: `http://host:port/<the drive's directory on that node>`; `secret`: the cluster secret. */
  constructor(url: string, secret: string) {
    this.url = new URL(url);
    if (this.url.protocol !== 'http:') throw storageError('InvalidArgument', `${url}: only http:// drives`);
    this.endpoint = `${this.url.origin}${this.url.pathname}`;
    this.key = storageKey(secret);
  }

  /** The directory on the serving node (what the storage API names the drive by). */
  get path(): string {
    return decodeURIComponent(this.url.pathname);
  }

  private offline(reason: string): StorageError {
    return storageError('DriveOffline', `${this.endpoint}: ${reason}`);
  }

  /** Sends one call; resolves with the response stream (status checked by the caller). */
  private send(op: StorageOp, args: unknown, body: readonly Buffer[] = []): Promise<IncomingMessage> {
    if (this.closed) return Promise.reject(this.offline('closed'));
    if (Date.now() < this.offlineUntil)
      return Promise.reject(this.offline('node unreachable (retrying soon)'));
    const argsHeader = encodeArgs(args);
    const date = String(Date.now());
    const drive = encodeURIComponent(this.path); // a header is Latin-1: a directory may not be
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.url.hostname.replace(/^\[|\]$/g, ''),
          port: this.url.port || 80,
          method: 'POST',
          path: STORAGE_PATH + op,
          agent: agentFor(this.url.origin),
          headers: {
            [H_DRIVE]: drive,
            [H_ARGS]: argsHeader,
            [H_DATE]: date,
            [H_AUTH]: sign(this.key, op, drive, argsHeader, date, body),
            'content-type': 'application/octet-stream',
            'content-length': body.reduce((n, b) => n + b.length, 0),
          },
        },
        (res) => resolve(res),
      );
      const connectTimer = setTimeout(() => req.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS);
      req.once('socket', (socket) => {
        if (!socket.connecting) clearTimeout(connectTimer);
        else socket.once('connect', () => clearTimeout(connectTimer));
      });
      req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`no answer for ${IDLE_TIMEOUT_MS} ms`)));
      req.once('error', (err) => {
        clearTimeout(connectTimer);
        this.offlineUntil = Date.now() + OFFLINE_BACKOFF_MS;
        reject(this.offline(`${op}: ${err.message}`));
      });
      req.once('response', () => clearTimeout(connectTimer));
      for (const piece of body) req.write(piece);
      req.end();
    });
  }

  /** One call answered whole; failures thrown as StorageErrors. */
  private async call(op: StorageOp, args: unknown, body?: readonly Buffer[]): Promise<Answer> {
    const res = await this.send(op, args, body);
    let data: Buffer;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
      data = Buffer.concat(chunks);
    } catch (err) {
      this.offlineUntil = Date.now() + OFFLINE_BACKOFF_MS;
      throw this.offline(`${op}: answer cut short: ${(err as Error).message}`);
    }
    if (res.statusCode === 200 || res.statusCode === 204) return { status: res.statusCode, body: data };
    throw this.failure(op, res.statusCode ?? 0, data);
  }

  private failure(op: StorageOp, status: number, data: Buffer): StorageError {
    let code = '';
    let message = data.toString('utf8').slice(0, 500);
    try {
      ({ code, message } = JSON.parse(data.toString('utf8')) as { code: string; message: string });
    } catch {
      // not JSON: a proxy or another server on that port
    }
    if (PASSED_ON.has(code as StorageErrorCode)) return storageError(code as StorageErrorCode, message);
    return this.offline(`${op} answered ${status} ${code}: ${message}`);
  }

  private async json<T>(op: StorageOp, args: unknown): Promise<T> {
    return JSON.parse((await this.call(op, args)).body.toString('utf8')) as T;
  }

  async makeVolume(volume: string): Promise<void> {
    await this.call('makeVolume', { volume });
  }

  async deleteVolume(volume: string): Promise<void> {
    await this.call('deleteVolume', { volume });
  }

  listVolumes(): Promise<string[]> {
    return this.json('listVolumes', {});
  }

  async statVolume(volume: string): Promise<{ created: Date }> {
    const { created } = await this.json<{ created: number }>('statVolume', { volume });
    return { created: new Date(created) };
  }

  async readMeta(volume: string, dir: string): Promise<Buffer | null> {
    const answer = await this.call('readMeta', { volume, dir });
    return answer.status === 204 ? null : answer.body;
  }

  async writeMeta(
    volume: string,
    dir: string,
    key: string,
    data: Buffer,
    opts: WriteMetaOptions,
  ): Promise<void> {
    await this.call('writeMeta', { volume, dir, key, fresh: opts.fresh }, [data]);
  }

  async deleteMeta(volume: string, dir: string, opts: DeleteMetaOptions = {}): Promise<void> {
    await this.call('deleteMeta', { volume, dir, durable: opts.durable });
  }

  async readFile(volume: string, path: string): Promise<Buffer> {
    return (await this.call('readFile', { volume, path })).body;
  }

  async writeFileAtomic(volume: string, path: string, data: Buffer): Promise<void> {
    await this.call('writeFileAtomic', { volume, path }, [data]);
  }

  async createFile(volume: string, path: string): Promise<FileWriter> {
    const { handle } = await this.json<{ handle: string }>('createFile', { volume, path });
    return {
      write: async (buffers, position) => {
        await this.call('writerWrite', { handle, position }, buffers);
      },
      close: async () => {
        await this.call('writerClose', { handle });
      },
      abort: async () => {
        await this.call('writerAbort', { handle });
      },
    };
  }

  async openFile(volume: string, path: string): Promise<FileReader> {
    const { handle } = await this.json<{ handle: string }>('openFile', { volume, path });
    return {
      readv: async (buffers, position) => {
        const length = buffers.reduce((n, b) => n + b.length, 0);
        const { body } = await this.call('readerRead', { handle, position, length });
        let at = 0;
        for (const b of buffers) {
          if (at >= body.length) break;
          at += body.copy(b, 0, at, Math.min(body.length, at + b.length));
        }
        return body.length;
      },
      close: async () => {
        await this.call('readerClose', { handle });
      },
    };
  }

  async rename(srcVolume: string, srcPath: string, dstVolume: string, dstPath: string): Promise<void> {
    await this.call('rename', { srcVolume, srcPath, dstVolume, dstPath });
  }

  async link(srcVolume: string, srcPath: string, dstVolume: string, dstPath: string): Promise<void> {
    await this.call('link', { srcVolume, srcPath, dstVolume, dstPath });
  }

  async delete(
    volume: string,
    path: string,
    opts: { recursive?: boolean; prune?: boolean } = {},
  ): Promise<void> {
    await this.call('delete', { volume, path, recursive: opts.recursive, prune: opts.prune });
  }

  list(volume: string, dir: string): Promise<string[]> {
    return this.json('list', { volume, dir });
  }

  async *walk(volume: string, opts: WalkOptions): AsyncIterable<WalkEntry> {
    const res = await this.send('walk', { volume, ...opts });
    if (res.statusCode !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
      throw this.failure('walk', res.statusCode ?? 0, Buffer.concat(chunks));
    }
    let rest: Buffer = Buffer.alloc(0);
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) {
        const { frames, rest: left } = decodeFrames(rest.length ? Buffer.concat([rest, chunk]) : chunk);
        rest = left;
        for (const f of frames) {
          if (f.type === FRAME_END) return;
          if (f.type === FRAME_ERROR) {
            const { code, message } = JSON.parse(f.payload?.toString('utf8') ?? '{}') as {
              code: StorageErrorCode;
              message: string;
            };
            throw PASSED_ON.has(code) ? storageError(code, message) : this.offline(`walk: ${message}`);
          }
          if (f.type !== FRAME_ENTRY) throw this.offline(`walk: unknown frame ${f.type}`);
          yield f.prefix ? { key: f.key, prefix: true } : { key: f.key, meta: f.payload };
        }
      }
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw this.offline(`walk cut short: ${(err as Error).message}`);
    } finally {
      res.destroy(); // a consumer that stopped early: do not read the rest of the walk
    }
    throw this.offline('walk cut short: the answer ended without its end frame');
  }

  info(): Promise<DriveInfo> {
    return this.json('info', {});
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
