/**
 * A minimal S3 client for benchmarks: node:http with a keep-alive agent, SigV4 header signing from the gateway's own
 * pure steps (src/s3/auth/sigv4.ts), UNSIGNED-PAYLOAD for every body, so the client spends its CPU on moving bytes
 * and one HMAC per request, not on an SDK's middleware stack. Paths are `/<bucket>/<key>` (path style); keys must
 * be plain ASCII without characters that need encoding.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  canonicalRequest,
  credentialScope,
  signature,
  signingKey,
  SIGV4_ALGORITHM,
  stringToSign,
  toAmzDate,
} from '../../src/s3/auth/sigv4';

/** Where the client connects and what it signs with. */
export interface S3ClientOptions {
  host: string;
  port: number;
  accessKey: string;
  secretKey: string;
  region: string;
  /** Sockets kept open (the benchmark's concurrency). */
  maxSockets: number;
}

const SIGNED_HEADERS = ['host', 'x-amz-content-sha256', 'x-amz-date'] as const;
const UNSIGNED = 'UNSIGNED-PAYLOAD';

/** Signs and sends PUT/GET requests over a keep-alive pool; errors carry the status and the response text. */
export class BenchS3Client {
  private readonly agent: Agent;
  private readonly hostHeader: string;
  private key: { date: string; key: Buffer } | undefined;

  constructor(private readonly opts: S3ClientOptions) {
    this.agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets });
    this.hostHeader = `${opts.host}:${opts.port}`;
  }

  /** CreateBucket (an empty PUT on the bucket path). */
  async createBucket(bucket: string): Promise<void> {
    await this.put(`/${bucket}`, Buffer.alloc(0));
  }

  /** PutObject from a Buffer or a stream of exactly `size` bytes; returns the ETag without quotes. */
  async putObject(bucket: string, key: string, body: Buffer | Readable, size: number): Promise<string> {
    const res = await this.put(`/${bucket}/${key}`, body, size);
    return (res.headers.etag ?? '').replace(/"/g, '');
  }

  /** GetObject, handing each body chunk to `onChunk`; returns the byte count. */
  async getObject(
    bucket: string,
    key: string,
    onChunk: (chunk: Buffer, offset: number) => void,
  ): Promise<number> {
    const res = await this.send('GET', `/${bucket}/${key}`, {});
    if (res.statusCode !== 200) throw await failure('GET', `/${bucket}/${key}`, res);
    let n = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      onChunk(chunk, n);
      n += chunk.length;
    }
    return n;
  }

  /** Closes the pooled sockets. */
  close(): void {
    this.agent.destroy();
  }

  private async put(
    path: string,
    body: Buffer | Readable,
    size = (body as Buffer).length,
  ): Promise<IncomingMessage> {
    const res = await this.send('PUT', path, { 'content-length': String(size) }, body);
    if (res.statusCode !== 200) throw await failure('PUT', path, res);
    res.resume();
    return res;
  }

  private send(
    method: string,
    path: string,
    extra: Record<string, string>,
    body?: Buffer | Readable,
  ): Promise<IncomingMessage> {
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({
        host: this.opts.host,
        port: this.opts.port,
        method,
        path,
        agent: this.agent,
        headers: { ...this.sign(method, path), ...extra },
      });
      req.once('response', resolve);
      req.once('error', reject);
      if (body === undefined || Buffer.isBuffer(body)) req.end(body);
      else pipeline(body, req).catch(reject);
    });
  }

  /** The SigV4 headers of a request with no query and an unsigned payload. */
  private sign(method: string, path: string): Record<string, string> {
    const amzDate = toAmzDate(new Date());
    const date = amzDate.slice(0, 8);
    if (this.key?.date !== date) {
      this.key = { date, key: signingKey(this.opts.secretKey, date, this.opts.region, 's3') };
    }
    const scope = credentialScope(date, this.opts.region, 's3');
    const headers = { host: this.hostHeader, 'x-amz-content-sha256': UNSIGNED, 'x-amz-date': amzDate };
    const canonical = canonicalRequest({
      method,
      canonicalUri: path,
      canonicalQuery: '',
      canonicalHeaders: SIGNED_HEADERS.map((h) => `${h}:${headers[h]}\n`).join(''),
      signedHeaders: SIGNED_HEADERS,
      payloadHash: UNSIGNED,
    });
    const sig = signature(this.key.key, stringToSign(amzDate, scope, canonical));
    return {
      ...headers,
      authorization:
        `${SIGV4_ALGORITHM} Credential=${this.opts.accessKey}/${scope}, ` +
        `SignedHeaders=${SIGNED_HEADERS.join(';')}, Signature=${sig}`,
    };
  }
}

async function failure(method: string, path: string, res: IncomingMessage): Promise<Error> {
  let text = '';
  for await (const chunk of res as AsyncIterable<Buffer>) text += chunk.toString('utf8');
  return new Error(`${method} ${path}: HTTP ${res.statusCode} ${text.slice(0, 300)}`);
}
