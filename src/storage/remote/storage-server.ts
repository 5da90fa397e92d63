/**
 * The serving half of the internal storage API (wire format in storage-wire.ts): this node's drives, offered to
 * the other nodes of the deployment. Every call goes to the very Drive objects this node's own pool uses, so a
 * drive's in-process state (its metadata log, its index of `%meta` files) has one owner whichever node asks.
 *
 * - A request is read whole (at most MAX_BODY), its signature checked, then the call runs; nothing runs for a
 *   request that is unsigned, badly signed, outside the replay window, or names a drive this node does not serve.
 * - Open files (createFile, openFile) become handles the caller passes back. A handle left idle for HANDLE_IDLE_MS
 *   (its caller died or lost us) is closed, a writer aborted, so a vanished peer cannot leak descriptors.
 * - Walks stream: entries are framed as the drive yields them, with backpressure, and end with an end frame or an
 *   error frame.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Drive, FileReader, FileWriter, WalkOptions } from '../drive/drive';
import { isStorageError, storageError } from '../errors';
import {
  checkSignature,
  decodeArgs,
  encodeFrame,
  FRAME_END,
  FRAME_ENTRY,
  FRAME_ERROR,
  H_ARGS,
  H_AUTH,
  H_DATE,
  H_DRIVE,
  isStorageOp,
  MAX_BODY,
  STORAGE_PATH,
  storageKey,
  type StorageOp,
} from './storage-wire';

/**
 * A handle idle this long is closed (a writer aborted), ms. Long enough for a slow client's upload (a writer sees
 * one write per 1 MiB erasure block of the body: 15 minutes is a client sending under 1.2 KiB/s).
 */
export const HANDLE_IDLE_MS = 15 * 60_000;

type Handle =
  { kind: 'writer'; file: FileWriter; used: number } | { kind: 'reader'; file: FileReader; used: number };

class BadRequest extends Error {}

const str = (args: Record<string, unknown>, name: string): string => {
  const v = args[name];
  if (typeof v !== 'string') throw new BadRequest(`argument ${name} must be a string`);
  return v;
};
const num = (args: Record<string, unknown>, name: string): number => {
  const v = args[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new BadRequest(`argument ${name} must be a non-negative integer`);
  return v;
};
const bool = (args: Record<string, unknown>, name: string): boolean | undefined => {
  const v = args[name];
  if (v !== undefined && typeof v !== 'boolean') throw new BadRequest(`argument ${name} must be a boolean`);
  return v;
};

/** What a call answers: bytes, JSON, nothing, or a walk to stream. */
type Result =
  | { bytes: Buffer }
  | { json: unknown }
  | { none: true }
  | { walk: AsyncIterable<{ key: string; meta?: Buffer; prefix?: boolean }> };

export class StorageServer {
  private readonly key: Buffer;
  private readonly handles = new Map<string, Handle>();
  private server: Server | null = null;
  private readonly sweep: NodeJS.Timeout;

  constructor(
    /** The drives this node serves, by their directory (the path part of their URL). */
    private readonly drives: ReadonlyMap<string, Drive>,
    secret: string,
    private readonly log: (level: 'info' | 'warn' | 'error', message: string) => void = () => undefined,
  ) {
    this.key = storageKey(secret);
    this.sweep = setInterval(() => void this.closeIdle(Date.now() - HANDLE_IDLE_MS), HANDLE_IDLE_MS / 4);
    this.sweep.unref();
  }

  /** Listens on host:port; resolves with the port bound (0 picks a free one). */
  async listen(host: string, port: number): Promise<number> {
    const server = createServer({ keepAlive: true, requestTimeout: 0 }, (req, res) => {
      void this.handle(req, res);
    });
    // Idle keep-alive connections of peers stay open; a request body that stalls is cut after 60 s.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  /** Stops listening, drops peers' connections and closes every open handle. */
  async close(): Promise<void> {
    clearInterval(this.sweep);
    const server = this.server;
    this.server = null;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
    await this.closeIdle(Infinity);
  }

  private async closeIdle(before: number): Promise<void> {
    for (const [id, h] of this.handles) {
      if (h.used >= before) continue;
      this.handles.delete(id);
      await (h.kind === 'writer' ? h.file.abort() : h.file.close()).catch(() => undefined);
    }
  }

  /** Serves one request (exported for tests that mount the API on their own server). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    const op = url.startsWith(STORAGE_PATH) ? url.slice(STORAGE_PATH.length) : '';
    if (req.method !== 'POST' || !isStorageOp(op)) {
      req.resume();
      return this.fail(res, 400, 'InvalidArgument', `not a storage API call: ${req.method} ${url}`);
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      return this.fail(res, 400, 'InvalidArgument', (err as Error).message);
    }
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : '';
    };
    const drivePath = header(H_DRIVE);
    const argsHeader = header(H_ARGS);
    const refused = checkSignature(this.key, op, drivePath, argsHeader, header(H_DATE), header(H_AUTH), body);
    if (refused) {
      this.log('warn', `storage API: refused ${op} from ${req.socket.remoteAddress}: ${refused}`);
      return this.fail(res, 403, 'AccessDenied', refused);
    }
    let dir: string; // the header is percent-encoded (headers are Latin-1, directories need not be)
    try {
      dir = decodeURIComponent(drivePath);
    } catch {
      return this.fail(res, 400, 'InvalidArgument', `malformed drive ${drivePath}`);
    }
    const drive = this.drives.get(dir);
    if (!drive) return this.fail(res, 404, 'DriveOffline', `this node serves no drive ${dir}`);
    let result: Result;
    try {
      result = await this.call(drive, op, decodeArgs(argsHeader), body);
    } catch (err) {
      if (err instanceof BadRequest || err instanceof SyntaxError)
        return this.fail(res, 400, 'InvalidArgument', err.message);
      if (isStorageError(err)) return this.fail(res, 500, err.code, err.message);
      return this.fail(res, 500, 'DriveFaulty', (err as Error).message ?? String(err));
    }
    if ('bytes' in result) {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': result.bytes.length,
      });
      res.end(result.bytes);
    } else if ('json' in result) {
      const text = JSON.stringify(result.json);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    } else if ('none' in result) {
      res.writeHead(204).end();
    } else {
      await streamWalk(result.walk, res);
    }
  }

  private fail(res: ServerResponse, status: number, code: string, message: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const text = JSON.stringify({ code, message });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private handle_(id: string, kind: Handle['kind']): Handle {
    const h = this.handles.get(id);
    if (!h || h.kind !== kind)
      throw storageError('FileNotFound', `no open ${kind} ${id} (closed, or idle too long)`);
    h.used = Date.now();
    return h;
  }

  private newHandle(h: Handle): { json: { handle: string } } {
    const id = randomBytes(12).toString('base64url');
    this.handles.set(id, h);
    return { json: { handle: id } };
  }

  private async call(drive: Drive, op: StorageOp, a: Record<string, unknown>, body: Buffer): Promise<Result> {
    const none = { none: true } as const;
    switch (op) {
      case 'makeVolume':
        await drive.makeVolume(str(a, 'volume'));
        return none;
      case 'deleteVolume':
        await drive.deleteVolume(str(a, 'volume'));
        return none;
      case 'listVolumes':
        return { json: await drive.listVolumes() };
      case 'statVolume':
        return { json: { created: (await drive.statVolume(str(a, 'volume'))).created.getTime() } };
      case 'readMeta': {
        const meta = await drive.readMeta(str(a, 'volume'), str(a, 'dir'));
        return meta ? { bytes: meta } : none;
      }
      case 'writeMeta':
        await drive.writeMeta(str(a, 'volume'), str(a, 'dir'), str(a, 'key'), body, {
          fresh: bool(a, 'fresh'),
        });
        return none;
      case 'deleteMeta':
        await drive.deleteMeta(str(a, 'volume'), str(a, 'dir'), { durable: bool(a, 'durable') });
        return none;
      case 'readFile':
        return { bytes: await drive.readFile(str(a, 'volume'), str(a, 'path')) };
      case 'writeFileAtomic':
        await drive.writeFileAtomic(str(a, 'volume'), str(a, 'path'), body);
        return none;
      case 'createFile':
        return this.newHandle({
          kind: 'writer',
          file: await drive.createFile(str(a, 'volume'), str(a, 'path')),
          used: Date.now(),
        });
      case 'writerWrite':
        await (this.handle_(str(a, 'handle'), 'writer').file as FileWriter).write([body], num(a, 'position'));
        return none;
      case 'writerClose':
      case 'writerAbort': {
        const id = str(a, 'handle');
        const writer = this.handle_(id, 'writer').file as FileWriter;
        this.handles.delete(id);
        await (op === 'writerClose' ? writer.close() : writer.abort());
        return none;
      }
      case 'openFile':
        return this.newHandle({
          kind: 'reader',
          file: await drive.openFile(str(a, 'volume'), str(a, 'path')),
          used: Date.now(),
        });
      case 'readerRead': {
        const length = num(a, 'length');
        if (length > MAX_BODY) throw new BadRequest(`read of ${length} bytes is larger than ${MAX_BODY}`);
        const buf = Buffer.allocUnsafe(length);
        const reader = this.handle_(str(a, 'handle'), 'reader').file as FileReader;
        const n = await reader.readv([buf], num(a, 'position'));
        return { bytes: buf.subarray(0, n) };
      }
      case 'readerClose': {
        const id = str(a, 'handle');
        const reader = this.handle_(id, 'reader').file as FileReader;
        this.handles.delete(id);
        await reader.close();
        return none;
      }
      case 'rename':
      case 'link': {
        const args = [
          str(a, 'srcVolume'),
          str(a, 'srcPath'),
          str(a, 'dstVolume'),
          str(a, 'dstPath'),
        ] as const;
        await (op === 'rename' ? drive.rename(...args) : drive.link(...args));
        return none;
      }
      case 'delete':
        await drive.delete(str(a, 'volume'), str(a, 'path'), {
          recursive: bool(a, 'recursive'),
          prune: bool(a, 'prune'),
        });
        return none;
      case 'list':
        return { json: await drive.list(str(a, 'volume'), str(a, 'dir')) };
      case 'walk': {
        const opts: WalkOptions = { recursive: bool(a, 'recursive') ?? false };
        if (a.prefix !== undefined) opts.prefix = str(a, 'prefix');
        if (a.marker !== undefined) opts.marker = str(a, 'marker');
        return { walk: drive.walk(str(a, 'volume'), opts) };
      }
      case 'info':
        return { json: await drive.info() };
    }
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY) throw new Error(`body of ${declared} bytes is larger than ${MAX_BODY}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error(`body larger than ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}

/** Streams a walk as frames, waiting for the peer to drain; a failure mid-walk ends with an error frame. */
async function streamWalk(
  walk: AsyncIterable<{ key: string; meta?: Buffer; prefix?: boolean }>,
  res: ServerResponse,
): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  const write = async (frame: Buffer) => {
    if (!res.write(frame)) {
      await new Promise<void>((resolve, reject) => {
        const drained = () => {
          res.off('close', closed);
          resolve();
        };
        const closed = () => {
          res.off('drain', drained);
          reject(new Error('peer went away'));
        };
        res.once('drain', drained);
        res.once('close', closed);
      });
    }
  };
  try {
    for await (const entry of walk) {
      if (res.destroyed) return;
      await write(encodeFrame(FRAME_ENTRY, entry.key, entry.meta, entry.prefix === true));
    }
    res.end(encodeFrame(FRAME_END, '', undefined));
  } catch (err) {
    if (res.destroyed) return;
    const code = isStorageError(err) ? err.code : 'DriveFaulty';
    res.end(
      encodeFrame(FRAME_ERROR, '', Buffer.from(JSON.stringify({ code, message: (err as Error).message }))),
    );
  }
}
