/**
 * Turns the raw request body into the object's bytes, verifying as it streams (bounded memory: one Transform, no
 * buffering beyond a chunk-header line):
 * - `signed`: the SHA-256 the client signed is checked at the end (XAmzContentSHA256Mismatch);
 * - `unsigned`: passed through;
 * - the three STREAMING-* modes: aws-chunked framing (`<hex>[;chunk-signature=<sig>]\r\n<data>\r\n` ... a 0-size
 *   chunk, then trailer lines `name:value\r\n` and an empty line) is removed; every chunk signature is verified
 *   (each chains on the previous, starting from the seed), the decoded length must equal
 *   x-amz-decoded-content-length, and in the signed-trailer mode the trailer carries `x-amz-trailer-signature`.
 * `x-amz-checksum-<alg>` (header, or the trailer named by x-amz-trailer) is computed on the decoded bytes and
 * checked at the end (BadDigest). Any failure errors the stream with an S3Error before it ends, so the ObjectLayer
 * aborts the write and commits nothing. Content-MD5 is left to the storage layer. A `signed` or `unsigned` body
 * that declares at most WHOLE_BODY_MAX bytes is read whole and checked before it is handed over (whole-body.ts).
 */
import type { Readable, Transform } from 'node:stream';
import type { S3Request } from '../s3-context';
import { S3Error } from '../errors/s3-error';
import type { AuthResult, PayloadMode } from './auth-types';
import { ChunkedDecoder } from './aws-chunked-decoder';
import { PlainChecks, PlainVerifier, type BodyVerifier, type ExpectedChecksum } from './body-verifier';
import { checksumAlgorithmOf, isChecksumName, isValidChecksumValue } from './checksums';
import { WHOLE_BODY_MAX, WholeBody, type RequestBody } from './whole-body';

/** The decoded request body. */
export interface DecodedBody {
  /** The object's bytes; errors with an S3Error if anything fails to verify. */
  stream: RequestBody;
  /** Decoded length when declared (Content-Length, or x-amz-decoded-content-length for aws-chunked). */
  length?: number;
  /** Verified checksums (algorithm -> base64), filled once the stream has ended. */
  checksums(): Record<string, string>;
}

/** Builds the decoding, verifying stream for `req`'s body; throws an S3Error for bad checksum/length headers. */
export function decodeBody(req: S3Request, auth: AuthResult): DecodedBody {
  const chunked = auth.payload.startsWith('streaming-');
  const expected = expectedChecksum(req, auth.payload);
  let length: number | undefined;
  if (chunked) {
    const declared = single(req, 'x-amz-decoded-content-length');
    if (declared === undefined)
      throw new S3Error('MissingContentLength', 'x-amz-decoded-content-length is required');
    length = parseLength(declared, 'x-amz-decoded-content-length');
  } else {
    const declared = single(req, 'content-length');
    length = declared === undefined ? undefined : parseLength(declared, 'Content-Length');
  }
  const verified: Record<string, string> = {};
  if (!chunked && length !== undefined && length <= WHOLE_BODY_MAX) {
    const stream = new WholeBody(req.raw, new PlainChecks(auth, expected, verified));
    return { stream, length, checksums: () => ({ ...verified }) };
  }
  const stream: BodyVerifier | PlainVerifier = chunked
    ? new ChunkedDecoder(auth, length ?? 0, expected, verified)
    : new PlainVerifier(auth, expected, verified);
  wire(req.raw, stream);
  return { stream, length, checksums: () => ({ ...verified }) };
}

function expectedChecksum(req: S3Request, mode: PayloadMode): ExpectedChecksum | undefined {
  const found: ExpectedChecksum[] = [];
  for (const name of Object.keys(req.headers)) {
    if (!isChecksumName(name)) continue;
    const algorithm = checksumAlgorithmOf(name);
    if (algorithm === undefined)
      throw new S3Error('InvalidRequest', `Unsupported checksum algorithm: ${name}`);
    const value = single(req, name) ?? '';
    if (!isValidChecksumValue(algorithm, value)) {
      throw new S3Error('InvalidRequest', `Value for ${name} header is invalid.`);
    }
    found.push({ algorithm, name, value });
  }
  const trailer = single(req, 'x-amz-trailer');
  if (trailer !== undefined) {
    if (mode !== 'streaming-signed-trailer' && mode !== 'streaming-unsigned-trailer') {
      throw new S3Error(
        'InvalidRequest',
        'x-amz-trailer requires a STREAMING-*-TRAILER x-amz-content-sha256',
      );
    }
    for (const raw of trailer.split(',')) {
      const name = raw.trim().toLowerCase();
      const algorithm = isChecksumName(name) ? checksumAlgorithmOf(name) : undefined;
      if (algorithm === undefined) throw new S3Error('InvalidRequest', `Unsupported trailer: ${name}`);
      found.push({ algorithm, name });
    }
  }
  if (found.length > 1) {
    throw new S3Error(
      'InvalidRequest',
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  }
  return found[0];
}

/** Pipes the raw request into the verifier; on a verification error the rest of the request is drained. */
function wire(raw: Readable, verifier: Transform): void {
  if (raw.destroyed) {
    // Gone before the first read (the client hung up while the handler was busy): a pipe would never end.
    verifier.destroy(new S3Error('IncompleteBody', 'The request body was not received completely'));
    return;
  }
  raw.on('error', (err) => {
    verifier.destroy(
      new S3Error('IncompleteBody', `The request body was not received completely: ${err.message}`),
    );
  });
  verifier.on('error', () => {
    raw.unpipe(verifier);
    raw.resume();
  });
  raw.pipe(verifier);
}

function single(req: S3Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function parseLength(value: string, name: string): number {
  if (!/^\d{1,15}$/.test(value)) {
    throw new S3Error('InvalidArgument', `${name} must be a non-negative integer`, { ArgumentName: name });
  }
  return Number(value);
}
