/**
 * Request bodies of admin writes (`PUT /tiergate/admin/v1/tiers`): at most MAX_ADMIN_BODY bytes, with a declared
 * Content-Length, read whole and checked against the SHA-256 the request's signature covers (AdminAuthGuard records
 * it), then parsed as JSON. Every refusal is a JSON `{ code, message }`: 411 MissingContentLength, 413
 * EntityTooLarge, 400 XAmzContentSHA256Mismatch, 400 MalformedJSON.
 */
import { BadRequestException, HttpException, HttpStatus, SetMetadata } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Largest admin request body. */
export const MAX_ADMIN_BODY = 64 * 1024;

/** Metadata key AdminAuthGuard reads: the route takes a signed body. */
export const ADMIN_BODY = 'tiergate:admin-body';

/** Marks a route as taking a body whose SHA-256 must be signed. */
export const AdminBody = (): MethodDecorator => SetMetadata(ADMIN_BODY, true);

const signedHashes = new WeakMap<IncomingMessage, string>();

/** Records the payload hash the guard verified the signature over. */
export function rememberSignedPayload(req: IncomingMessage, sha256: string): void {
  signedHashes.set(req, sha256);
}

/** Reads `req`'s body (bounded) and checks it against the signed payload hash. */
export async function readSignedBody(req: IncomingMessage, maxBytes = MAX_ADMIN_BODY): Promise<Buffer> {
  const expected = signedHashes.get(req);
  if (expected === undefined) throw new Error('readSignedBody on a route without @AdminBody()');
  const declared = req.headers['content-length'];
  if (declared === undefined || !/^\d+$/.test(declared)) {
    req.resume();
    throw new HttpException(
      { code: 'MissingContentLength', message: 'admin writes need a Content-Length' },
      HttpStatus.LENGTH_REQUIRED,
    );
  }
  if (Number(declared) > maxBytes) {
    req.resume();
    throw new HttpException(
      { code: 'EntityTooLarge', message: `the body may be at most ${maxBytes} bytes` },
      HttpStatus.PAYLOAD_TOO_LARGE,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) break;
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  if (size !== Number(declared))
    throw new BadRequestException({
      code: 'IncompleteBody',
      message: 'the body does not match Content-Length',
    });
  if (createHash('sha256').update(body).digest('hex') !== expected)
    throw new BadRequestException({
      code: 'XAmzContentSHA256Mismatch',
      message: 'the SHA-256 of the body does not match x-amz-content-sha256',
    });
  return body;
}

/** Parses a JSON object body, or answers 400 MalformedJSON. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new BadRequestException({
      code: 'MalformedJSON',
      message: `the body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new BadRequestException({ code: 'MalformedJSON', message: 'the body must be a JSON object' });
  return value as Record<string, unknown>;
}
