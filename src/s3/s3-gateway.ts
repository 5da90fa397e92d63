/**
 * The S3 front door: one function per request that parses what it names (path style, or virtual-host style under a
 * configured domain), routes it through the table (router/routes.ts), authenticates it (auth/), and runs the
 * operation's handler. Every response carries x-amz-request-id; every failure becomes an S3 error document (no body
 * for HEAD), and nothing internal (stack traces, paths) ever reaches the client.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ObjectLayer } from '../storage/object-layer';
import { randomHexUpper } from '../storage/util/random-pool';
import { decodeBody } from './auth/body-decoder';
import type { CredentialLookup } from './auth/auth-types';
import { authenticate } from './auth/verify-request';
import { S3Error, toS3Error } from './errors/s3-error';
import { HANDLERS } from './handlers';
import { matchRoute, type Target } from './router/routes';
import type { S3Context, S3Request, S3Settings } from './s3-context';
import { setCommonHeaders } from './s3-response';
import { xmlDocument } from './xml/xml';

/** What the gateway reports about each request (metrics and access logs hang off this). */
export interface RequestOutcome {
  op: string;
  status: number;
  durationMs: number;
  /** Request body bytes as sent (aws-chunked framing included); 0 when the handler never read the body. */
  bytesIn: number;
  /** Bytes written to the socket for this response, headers included. */
  bytesOut: number;
}

/** Parses the bucket and key a request names; throws InvalidURI / InvalidBucketName-free parse errors as S3Error. */
export function parseTarget(
  rawUrl: string,
  host: string | undefined,
  domains: readonly string[],
): { bucket?: string; key?: string; query: URLSearchParams; target: Target; resource: string } {
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new S3Error('InvalidURI');
  }
  if (!path.startsWith('/')) throw new S3Error('InvalidURI');
  const hostname = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  const domain = domains.find((d) => hostname.endsWith(`.${d}`));
  let bucket: string | undefined;
  let key: string | undefined;
  if (domain !== undefined) {
    bucket = hostname.slice(0, -(domain.length + 1));
    key = path.length > 1 ? path.slice(1) : undefined;
  } else {
    const rest = path.slice(1);
    const slash = rest.indexOf('/');
    bucket = slash < 0 ? rest || undefined : rest.slice(0, slash);
    key = slash < 0 || slash === rest.length - 1 ? undefined : rest.slice(slash + 1);
  }
  const target: Target = bucket === undefined ? 'service' : key === undefined ? 'bucket' : 'object';
  const resource = bucket === undefined ? '/' : key === undefined ? `/${bucket}` : `/${bucket}/${key}`;
  return { bucket, key, query, target, resource };
}

/** Serves S3 requests against an ObjectLayer. */
export class S3Gateway {
  constructor(
    private readonly layer: ObjectLayer,
    private readonly settings: S3Settings,
    private readonly credentials: CredentialLookup,
    private readonly log: (level: 'warn' | 'error', message: string) => void,
    private readonly observe: (outcome: RequestOutcome) => void = () => undefined,
  ) {}

  /** Handles one request to completion; never throws. */
  async handle(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const requestId = randomHexUpper(8);
    setCommonHeaders(res, requestId);
    let op = 'Unknown';
    // Until the target parses, errors name the path as sent (InvalidURI must say which URI it could not parse).
    let resource = (raw.url ?? '/').split('?')[0];
    const method = raw.method ?? 'GET';
    // Bytes out are what actually left the socket, not what Content-Length promised. Bytes in are counted on the
    // body as the decoder pulls it: a 'data' listener before that would start the body flowing and lose it.
    const socket = raw.socket;
    const sentBefore = socket.bytesWritten;
    let bytesIn = 0;
    let decoded: ReturnType<typeof decodeBody> | undefined;
    try {
      const parsed = parseTarget(raw.url ?? '/', raw.headers.host, this.settings.domains);
      resource = parsed.resource;
      const req: S3Request = {
        method,
        bucket: parsed.bucket,
        key: parsed.key,
        query: parsed.query,
        headers: raw.headers,
        resource,
        requestId,
        raw,
      };
      const match = matchRoute(method, parsed.target, parsed.query, raw.headers);
      if ('error' in match) throw new S3Error(match.error);
      op = match.route.op;
      const auth = authenticate(req, this.credentials, this.settings.region, new Date());
      const getDecoded = (): ReturnType<typeof decodeBody> => {
        if (!decoded) {
          decoded = decodeBody(req, auth);
          // The decoder has piped the request already, so this only observes what flows.
          raw.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
        }
        return decoded;
      };
      const ctx: S3Context = {
        op: match.route.op,
        req,
        res,
        layer: this.layer,
        settings: this.settings,
        auth,
        body: () => getDecoded().stream,
        get bodyLength() {
          return getDecoded().length;
        },
        verifiedChecksums: () => getDecoded().checksums(),
      };
      await HANDLERS[match.route.op](ctx);
    } catch (err) {
      this.sendError(method, res, toS3Error(err), resource, requestId);
    } finally {
      // A handler that failed or answered before the body was read leaves it in the socket: detach the decoder
      // (whose backpressure would pause the request again) and drain, so the connection serves its next request.
      if (decoded && !raw.readableEnded) {
        raw.unpipe();
        decoded.stream.destroy();
      }
      if (!raw.readableEnded) raw.resume();
      this.observe({
        op,
        status: res.statusCode,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        bytesIn,
        bytesOut: socket.bytesWritten - sentBefore,
      });
    }
  }

  private sendError(
    method: string,
    res: ServerResponse,
    err: unknown,
    resource: string,
    requestId: string,
  ): void {
    const s3 = err instanceof S3Error ? err : new S3Error('InternalError');
    if (!(err instanceof S3Error)) {
      this.log(
        'error',
        `${requestId} ${method} ${resource}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
    }
    if (res.headersSent) {
      // The status line is gone: the only honest signal left is to cut the connection.
      res.destroy();
      return;
    }
    const headers: Record<string, string | number> = { ...s3.headers };
    if (method === 'HEAD') {
      res.writeHead(s3.status, { ...headers, 'Content-Length': 0 });
      res.end();
      return;
    }
    const body = xmlDocument(
      'Error',
      { Code: s3.code, Message: s3.message, ...s3.extra, Resource: resource, RequestId: requestId },
      null,
    );
    res.writeHead(s3.status, {
      ...headers,
      'Content-Type': 'application/xml',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  }
}
