/**
 * aws-chunked decoding (`<hex>[;chunk-signature=<sig>]\r\n<data>\r\n` ... a 0-size chunk, trailer lines
 * `name:value\r\n`, an empty line) as a state machine over the incoming buffers: data is pushed as zero-copy
 * slices and only a chunk-header or trailer line (at most MAX_LINE bytes) is ever held. Each chunk signature chains
 * on the previous one, starting from the seed, so tampered, dropped or reordered chunks fail; the decoded length must
 * equal x-amz-decoded-content-length; in the signed-trailer mode the trailer carries `x-amz-trailer-signature`.
 */
import { createHash, type Hash } from 'node:crypto';
import type { TransformCallback } from 'node:stream';
import { S3Error } from '../errors/s3-error';
import type { AuthResult } from './auth-types';
import { BodyVerifier, type ExpectedChecksum } from './body-verifier';
import {
  EMPTY_SHA256,
  chunkStringToSign,
  sha256Hex,
  signature,
  signaturesEqual,
  trailerStringToSign,
} from './sigv4';

/** Longest chunk-header or trailer line we accept; real ones are under 100 bytes. */
const MAX_LINE = 4096;
/** Most trailer lines we accept. */
const MAX_TRAILERS = 16;
const TRAILER_SIGNATURE = 'x-amz-trailer-signature';
type State = 'header' | 'data' | 'data-crlf' | 'trailer' | 'done';

/** aws-chunked decoding and chunk/trailer signature verification. */
export class ChunkedDecoder extends BodyVerifier {
  private state: State = 'header';
  private line = '';
  private remaining = 0;
  private crlf = 0;
  private decoded = 0;
  private previous: string;
  private chunkSignature = '';
  private chunkHash?: Hash;
  private readonly signed: boolean;
  private readonly trailers: [string, string][] = [];
  private trailerSignature?: string;
  private blankBeforeTrailer = false;

  constructor(
    private readonly auth: AuthResult,
    private readonly declared: number,
    private readonly expectedChecksum: ExpectedChecksum | undefined,
    verified: Record<string, string>,
  ) {
    super(expectedChecksum, verified);
    this.signed = auth.payload === 'streaming-signed' || auth.payload === 'streaming-signed-trailer';
    this.previous = auth.seedSignature ?? '';
    if (this.signed && (!auth.signingKey || !auth.seedSignature || !auth.scope || !auth.amzDate)) {
      throw new Error('a streaming-signed AuthResult needs seedSignature, signingKey, scope and amzDate');
    }
  }

  override _transform(buf: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      let i = 0;
      while (i < buf.length) {
        if (this.state === 'data') {
          const n = Math.min(this.remaining, buf.length - i);
          const part = buf.subarray(i, i + n);
          this.chunkHash?.update(part);
          this.pushDecoded(part);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) {
            this.endChunk();
            this.state = 'data-crlf';
            this.crlf = 0;
          }
        } else if (this.state === 'data-crlf') {
          if (buf[i] !== (this.crlf === 0 ? 0x0d : 0x0a))
            throw malformed('chunk data is not followed by CRLF');
          i++;
          if (++this.crlf === 2) this.state = 'header';
        } else if (this.state === 'done') {
          throw malformed('data after the end of the aws-chunked body');
        } else {
          const nl = buf.indexOf(0x0a, i);
          const end = nl < 0 ? buf.length : nl;
          this.line += buf.toString('latin1', i, end);
          if (this.line.length > MAX_LINE) throw malformed('chunk header or trailer line too long');
          i = nl < 0 ? buf.length : nl + 1;
          if (nl >= 0) {
            if (!this.line.endsWith('\r')) throw malformed('line not terminated by CRLF');
            const text = this.line.slice(0, -1);
            this.line = '';
            if (this.state === 'header') this.chunkHeader(text);
            else this.trailerLine(text);
          }
        }
      }
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      // EOF right after the last chunk (or the last trailer) stands in for the closing empty line.
      if (this.state !== 'done' && !(this.state === 'trailer' && this.line === '')) {
        throw new S3Error('IncompleteBody', 'The aws-chunked body ended before its final chunk');
      }
      if (this.decoded !== this.declared) throw this.lengthMismatch();
      this.verifyTrailerSignature();
    } catch (err) {
      cb(err as Error);
      return;
    }
    const trailer =
      this.expectedChecksum && this.trailers.find(([n]) => n === this.expectedChecksum?.name)?.[1];
    this.verifyChecksum(trailer).then(() => cb(), cb);
  }

  private chunkHeader(text: string): void {
    const semi = text.indexOf(';');
    const hex = semi < 0 ? text : text.slice(0, semi);
    if (!/^[0-9a-fA-F]{1,15}$/.test(hex)) throw malformed(`bad chunk size '${hex.slice(0, 20)}'`);
    const size = parseInt(hex, 16);
    if (this.signed) {
      const m = /^chunk-signature=([0-9a-f]{64})$/.exec(semi < 0 ? '' : text.slice(semi + 1));
      if (!m) throw malformed('chunk header without a chunk-signature');
      this.chunkSignature = m[1];
    }
    if (this.decoded + size > this.declared) throw this.lengthMismatch();
    this.decoded += size;
    if (size === 0) {
      this.endChunk();
      this.state = 'trailer';
      return;
    }
    if (this.signed) this.chunkHash = createHash('sha256');
    this.remaining = size;
    this.state = 'data';
  }

  /** Verifies the signature of the chunk whose data just ended (a no-op for unsigned chunks). */
  private endChunk(): void {
    if (!this.signed) return;
    const hash = this.chunkHash ? this.chunkHash.digest('hex') : EMPTY_SHA256;
    this.chunkHash = undefined;
    const a = this.auth;
    const sts = chunkStringToSign(a.amzDate ?? '', a.scope ?? '', this.previous, hash);
    if (!signaturesEqual(signature(a.signingKey as Buffer, sts), this.chunkSignature)) {
      throw new S3Error(
        'SignatureDoesNotMatch',
        'The chunk signature does not match; chunks may be corrupt or out of order',
        {
          StringToSign: sts,
          SignatureProvided: this.chunkSignature,
        },
      );
    }
    this.previous = this.chunkSignature;
  }

  private trailerLine(text: string): void {
    const trailerMode = this.auth.payload !== 'streaming-signed';
    if (text === '') {
      // Some clients send an empty line between the final chunk and the trailer.
      if (trailerMode && this.trailers.length === 0 && !this.trailerSignature && !this.blankBeforeTrailer) {
        this.blankBeforeTrailer = true;
        return;
      }
      this.state = 'done';
      return;
    }
    if (!trailerMode) throw malformed('trailer lines in a payload without trailers');
    const colon = text.indexOf(':');
    if (colon <= 0) throw malformed('trailer line is not name:value');
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === TRAILER_SIGNATURE) {
      if (!this.signed || this.trailerSignature !== undefined)
        throw malformed('unexpected x-amz-trailer-signature');
      this.trailerSignature = value;
      return;
    }
    if (this.trailerSignature !== undefined) throw malformed('trailer after x-amz-trailer-signature');
    if (name !== this.expectedChecksum?.name || this.expectedChecksum.value !== undefined) {
      throw new S3Error('InvalidRequest', `Trailer ${name} was not declared in x-amz-trailer`);
    }
    if (this.trailers.length >= MAX_TRAILERS || this.trailers.some(([n]) => n === name)) {
      throw malformed(`repeated trailer ${name}`);
    }
    this.trailers.push([name, value]);
  }

  private verifyTrailerSignature(): void {
    if (!this.signed) return;
    if (this.trailerSignature === undefined) {
      if (this.trailers.length > 0) throw malformed('signed trailer without x-amz-trailer-signature');
      return;
    }
    const canonical = this.trailers.map(([n, v]) => `${n}:${v}\n`).join('');
    const a = this.auth;
    const sts = trailerStringToSign(a.amzDate ?? '', a.scope ?? '', this.previous, sha256Hex(canonical));
    if (!signaturesEqual(signature(a.signingKey as Buffer, sts), this.trailerSignature)) {
      throw new S3Error('SignatureDoesNotMatch', 'The trailer signature does not match', {
        StringToSign: sts,
        SignatureProvided: this.trailerSignature,
      });
    }
  }

  private lengthMismatch(): S3Error {
    return new S3Error(
      'IncompleteBody',
      `The aws-chunked body does not carry the ${this.declared} bytes x-amz-decoded-content-length declares`,
    );
  }
}

function malformed(why: string): S3Error {
  return new S3Error('InvalidRequest', `Malformed aws-chunked body: ${why}`);
}
