import { S3ServiceException } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
/**
 * End-to-end harness: boots the real gateway in-process (`bootstrap(loadConfig(env))`, exactly what `npm start`
 * runs) on fresh temp drives and port 0, and gives tests an SDK client, raw requests with exactly the bytes a test
 * wants (signed with SigV4 by @smithy/signature-v4, or unsigned), and presigned URLs.
 *
 * Redis: every gateway of a test process uses the process's one throwaway redis-server (test/fixtures/redis-server)
 * through TIERGATE_REDIS_URL, with its own TIERGATE_QUEUE_PREFIX, so gateways never see each other's jobs and no
 * test pays for starting a server. (The embedded-server path is covered by boot.spec and the child-process suites.)
 *
 * Drives live at `<root>/srv/tiergate/drives/d<i>`: a path that escaped a drive by up to three levels still lands
 * inside `root`, where `walkFiles(root)` sees it.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/load-config';
import { bootstrap } from '../../src/main';
import { sharedRedis, uniquePrefix } from '../fixtures/redis-server';

/** Root credentials every harness gateway is booted with (not the dev defaults, so config is really applied). */
export const E2E_CREDENTIALS = Object.freeze({
  accessKeyId: 'e2e-root-user',
  secretAccessKey: 'e2e-root-secret-key',
});

/** The region the gateway is configured with and clients sign for. */
export const E2E_REGION = 'us-east-1';

/** Options for startGateway. */
export interface GatewayOptions {
  /** Number of temp drives (default 4). */
  drives?: number;
  /** Extra TIERGATE_* variables (override the harness's own). */
  env?: Record<string, string>;
  /**
   * Boot on the drives under this root, from an earlier gateway closed with `close({ keepFiles: true })`, as a
   * restart on the same disks. The new gateway owns the root from then on (its `close()` removes it).
   */
  root?: string;
}

/** A request as it goes on the wire: `path` is sent verbatim (already percent-encoded, with any query). */
export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Add Content-Length for the body when the headers do not set it (default true). */
  autoContentLength?: boolean;
}

/** A response read off the socket. */
export interface RawResponse {
  status: number;
  /** Header names lower-cased; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: Buffer;
  text: string;
}

/** How a signed request is signed; every field has a correct default so a test changes only what it probes. */
export interface SignOptions {
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Signing time (default now). */
  date?: Date;
  /** x-amz-content-sha256 to sign and send (default: the SHA-256 of the body). */
  payloadHash?: string;
}

/** A running gateway on temp drives. */
export interface TestGateway {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  host: string;
  port: number;
  /** The temp root holding everything the gateway may write. */
  root: string;
  /** The drive directories. */
  drives: string[];
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The running app, for tests that reach its providers (e.g. the ObjectLayer). */
  app: NestExpressApplication;
  /** A path-style S3Client for this gateway; `opts` override the defaults (e.g. checksum settings). */
  client(opts?: Partial<S3ClientConfig>): S3Client;
  /** Sends `req` with a SigV4 Authorization header computed over its headers (all signed) and payload hash. */
  signed(req: RawRequest, sign?: SignOptions): Promise<RawResponse>;
  /** The headers `signed` would send (host, x-amz-date, x-amz-content-sha256, authorization), to tamper with. */
  signHeaders(req: RawRequest, sign?: SignOptions): Promise<Record<string, string>>;
  /** Sends `req` as is, with no authentication. */
  unsigned(req: RawRequest): Promise<RawResponse>;
  /** A presigned URL path (path + query, for `unsigned`) valid `expiresIn` seconds from `sign.date`. */
  presignPath(method: string, path: string, expiresIn: number, sign?: SignOptions): Promise<string>;
  /** Stops the app and removes every temp directory (kept with `keepFiles`, for a restart with `root`). */
  close(opts?: { keepFiles?: boolean }): Promise<void>;
}

let loggerQuieted = false;

/** Boots the gateway on fresh temp drives and port 0. */
export async function startGateway(opts: GatewayOptions = {}): Promise<TestGateway> {
  if (!loggerQuieted) {
    // Boot chatter drowns test output; warnings and errors (e.g. internal errors the gateway logs) stay visible.
    Logger.overrideLogger(['error', 'warn']);
    loggerQuieted = true;
  }
  const root = opts.root ?? (await mkdtemp(join(tmpdir(), 'tiergate-gw-')));
  const drivesDir = join(root, 'srv', 'tiergate', 'drives');
  const drives = Array.from({ length: opts.drives ?? 4 }, (_, i) => join(drivesDir, `d${i + 1}`));
  let app: NestExpressApplication | undefined;
  const clients: S3Client[] = [];
  try {
    await Promise.all(drives.map((d) => mkdir(d, { recursive: true })));
    const redis = await sharedRedis();
    const config = loadConfig(
      {
        TIERGATE_REDIS_URL: redis.url,
        TIERGATE_QUEUE_PREFIX: uniquePrefix('e2e'),
        TIERGATE_DRIVES: drives.join(','),
        TIERGATE_ADDRESS: '127.0.0.1:0',
        TIERGATE_REGION: E2E_REGION,
        TIERGATE_ROOT_USER: E2E_CREDENTIALS.accessKeyId,
        TIERGATE_ROOT_PASSWORD: E2E_CREDENTIALS.secretAccessKey,
        ...opts.env,
      },
      root,
    );
    app = await bootstrap(config);
  } catch (err) {
    await rm(root, { recursive: true, force: true });
    throw err;
  }
  const started = app;
  const { port } = started.getHttpServer().address() as AddressInfo;
  const host = '127.0.0.1';
  const endpoint = `http://${host}:${port}`;
  const credentials = { ...E2E_CREDENTIALS };
  const signHeaders = (req: RawRequest, sign?: SignOptions) => signRequestHeaders(host, port, req, sign);
  return {
    endpoint,
    host,
    port,
    root,
    drives,
    credentials,
    app: started,
    client(clientOpts = {}) {
      const client = new S3Client({
        endpoint,
        region: E2E_REGION,
        forcePathStyle: true,
        credentials,
        ...clientOpts,
      });
      clients.push(client);
      return client;
    },
    signHeaders,
    signed: (req, sign) => sendSigned(host, port, req, sign),
    unsigned: (req) => sendRaw(host, port, req),
    presignPath: (method, path, expiresIn, sign) => presign(host, port, method, path, expiresIn, sign),
    async close(closeOpts = {}) {
      for (const client of clients) client.destroy();
      try {
        (started.getHttpServer() as { closeAllConnections?: () => void }).closeAllConnections?.();
        await started.close();
      } finally {
        if (!closeOpts.keepFiles) await rm(root, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Sends `req` to host:port with a SigV4 Authorization header (what TestGateway.signed does), for gateways this
 * harness did not start, such as child processes (pass their root credentials in `sign.credentials`).
 */
export async function sendSigned(
  host: string,
  port: number,
  req: RawRequest,
  sign?: SignOptions,
): Promise<RawResponse> {
  const headers = await signRequestHeaders(host, port, req, sign);
  return sendRaw(host, port, { ...req, headers, autoContentLength: false });
}

/** SHA-256 hex of `data`, as x-amz-content-sha256 carries it. */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Every file (not directory) under `dir`, as absolute paths. A directory that vanishes during the walk (the
 * gateway is deleting it, say) counts as empty rather than failing the walk.
 */
export async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walkFiles(path)));
    else out.push(path);
  }
  return out;
}

/** Pulls Code, Message, Resource and RequestId out of an S3 error document (undefined when absent). */
export function parseErrorXml(
  text: string,
): Record<'Code' | 'Message' | 'Resource' | 'RequestId', string | undefined> {
  const field = (name: string) => new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(text)?.[1];
  return {
    Code: field('Code'),
    Message: field('Message'),
    Resource: field('Resource'),
    RequestId: field('RequestId'),
  };
}

/**
 * The canonical URI SigV4 signs for an S3 path: each segment decoded once and re-encoded with S3's rules (what the
 * SDK produces and what the gateway recomputes), so a test may put any spelling of a path on the wire.
 */
function canonicalPath(wirePath: string): string {
  return wirePath
    .split('/')
    .map((segment) =>
      encodeURIComponent(decodeURIComponent(segment)).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join('/');
}

function splitPath(path: string): { pathname: string; query: Record<string, string | string[]> } {
  const q = path.indexOf('?');
  const pathname = q < 0 ? path : path.slice(0, q);
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(q < 0 ? '' : path.slice(q + 1))) {
    const prev = query[name];
    query[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  return { pathname, query };
}

function signer(sign: SignOptions = {}): SignatureV4 {
  return new SignatureV4({
    credentials: sign.credentials ?? E2E_CREDENTIALS,
    region: E2E_REGION,
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
  });
}

async function signRequestHeaders(
  host: string,
  port: number,
  req: RawRequest,
  sign: SignOptions = {},
): Promise<Record<string, string>> {
  const body = req.body ?? '';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers ?? {})) headers[name.toLowerCase()] = value;
  headers.host ??= `${host}:${port}`;
  headers['x-amz-content-sha256'] ??= sign.payloadHash ?? sha256Hex(body);
  if (req.body !== undefined && req.autoContentLength !== false && headers['content-length'] === undefined) {
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const { pathname, query } = splitPath(req.path);
  const signed = await signer(sign).sign(
    {
      method: req.method,
      protocol: 'http:',
      hostname: host,
      port,
      path: canonicalPath(pathname),
      query,
      headers,
    },
    { signingDate: sign.date ?? new Date() },
  );
  return signed.headers;
}

async function presign(
  host: string,
  port: number,
  method: string,
  path: string,
  expiresIn: number,
  sign: SignOptions = {},
): Promise<string> {
  const { pathname, query } = splitPath(path);
  const signed = await signer(sign).presign(
    {
      method,
      protocol: 'http:',
      hostname: host,
      port,
      path: canonicalPath(pathname),
      query,
      // As @aws-sdk/s3-request-presigner does: a presigned URL never signs its payload.
      headers: { host: `${host}:${port}`, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    { signingDate: sign.date ?? new Date(), expiresIn },
  );
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(signed.query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) if (v !== null) params.append(name, v);
  }
  // URLSearchParams writes spaces as '+'; SigV4 query strings use %20.
  return `${pathname}?${params.toString().replace(/\+/g, '%20')}`;
}

/**
 * Writes `req` byte for byte on a fresh connection and parses one response (Content-Length, chunked, or up to
 * close; never a body for HEAD, 1xx, 204 or 304). Does not wait for the request body to be read: a server that
 * answers early (EntityTooLarge before reading) is seen as it answers.
 */
export function sendRaw(host: string, port: number, req: RawRequest): Promise<RawResponse> {
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  const headers: Record<string, string> = { ...req.headers };
  const has = (name: string) => Object.keys(headers).some((h) => h.toLowerCase() === name);
  if (!has('host')) headers.host = `${host}:${port}`;
  if (
    body !== undefined &&
    req.autoContentLength !== false &&
    !has('content-length') &&
    !has('transfer-encoding')
  ) {
    headers['content-length'] = String(body.length);
  }
  if (!has('connection')) headers.connection = 'close';
  const head =
    `${req.method} ${req.path} HTTP/1.1\r\n` +
    Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('') +
    '\r\n';
  return new Promise<RawResponse>((resolve, reject) => {
    const socket = connect(port, host);
    let buffered = Buffer.alloc(0);
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      const parsed = parseResponse(buffered, req.method === 'HEAD', closed);
      if (parsed) {
        settled = true;
        socket.destroy();
        resolve(parsed);
      } else if (closed) {
        settled = true;
        reject(
          new Error(
            `connection closed before a complete response: ${JSON.stringify(buffered.toString('latin1'))}`,
          ),
        );
      }
    };
    socket.on('connect', () => {
      socket.write(head);
      if (body !== undefined && body.length > 0) socket.write(body);
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (err) => {
      // A server that answered and then reset the connection (it will not read a body it refused) still answered.
      if (!settled && parseResponse(buffered, req.method === 'HEAD', true) === undefined) {
        settled = true;
        reject(err);
      } else finish(true);
    });
  });
}

function parseResponse(data: Buffer, isHead: boolean, closed: boolean): RawResponse | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1]);
  if (!Number.isInteger(status)) throw new Error(`not an HTTP response: ${lines[0]}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  if (status < 200) return parseResponse(data.subarray(end + 4), isHead, closed);
  const rest = data.subarray(end + 4);
  const done = (body: Buffer): RawResponse => ({ status, headers, body, text: body.toString('utf8') });
  if (isHead || status === 204 || status === 304) return done(Buffer.alloc(0));
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    return rest.length >= length ? done(rest.subarray(0, length)) : undefined;
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const chunks: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(rest.subarray(at, lineEnd).toString('latin1'), 16);
      if (size === 0) return done(Buffer.concat(chunks));
      if (rest.length < lineEnd + 2 + size + 2) return undefined;
      chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  return closed ? done(rest) : undefined;
}

/** The S3 error a call failed with (code and HTTP status); fails the test if the call succeeded. */
export async function s3Failure(p: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof S3ServiceException, `expected an S3 error, got ${String(err)}`);
    return { code: err.name, status: err.$metadata.httpStatusCode };
  }
  return assert.fail('the call succeeded');
}

/** Creates a bucket and enables versioning on it. */
export async function versionedBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
}
