/**
 * A small plain body read whole from the request, verified, and then handed over as one Buffer.
 *
 * A stream pipeline (pipe into a Transform, then an async iterator over it) costs a request more main-thread time
 * than everything else a 4 KiB PUT does outside storage, for bodies the storage layer buffers whole anyway (it keeps
 * objects up to its inline threshold in their metadata). A body whose declared length is at most WHOLE_BODY_MAX is
 * therefore collected with one `data` listener and checked (PlainChecks: signed SHA-256, x-amz-checksum-*) before
 * its single chunk is yielded, so a body that fails a check never reaches storage at all: the iterator throws the
 * S3Error instead. Memory stays bounded by WHOLE_BODY_MAX per request, as the streamed path's is by its buffers.
 */
import type { Readable } from 'node:stream';
import { S3Error } from '../errors/s3-error';
import type { PlainChecks } from './body-verifier';

/** Largest declared length read whole instead of streamed (64 KiB). */
export const WHOLE_BODY_MAX = 64 * 1024;

/** A request body as handlers and the ObjectLayer consume it: chunks in order, and a way to give up on it. */
export interface RequestBody extends AsyncIterable<Buffer> {
  /** Stops reading (a handler that failed first): the request is left for the caller to drain. */
  destroy(err?: Error): unknown;
}

function incomplete(err?: Error): S3Error {
  return new S3Error(
    'IncompleteBody',
    `The request body was not received completely${err ? `: ${err.message}` : ''}`,
  );
}

/** The body of `raw`, read whole and checked; the caller has made sure it declared at most WHOLE_BODY_MAX bytes. */
export class WholeBody implements RequestBody {
  private readonly chunks: Buffer[] = [];
  private readonly body: Promise<Buffer>;
  private fail!: (err: Error) => void;
  private readonly detach: () => void;

  constructor(raw: Readable, checks: PlainChecks) {
    let arrived!: () => void;
    const ended = new Promise<void>((resolve, reject) => {
      arrived = resolve;
      this.fail = reject;
    });
    const onData = (chunk: Buffer): void => {
      checks.update(chunk);
      this.chunks.push(chunk);
    };
    const onEnd = (): void => {
      this.detach();
      arrived();
    };
    const onError = (err: Error): void => {
      this.detach();
      this.fail(incomplete(err));
    };
    // Closed without an end or an error (the socket went away): the rest of the body is not coming.
    const onClose = (): void => {
      this.detach();
      this.fail(incomplete());
    };
    this.detach = () => {
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onError);
      raw.off('close', onClose);
    };
    if (raw.destroyed) {
      // Gone before the first read (the client hung up while the request was being authenticated): no event is
      // coming that would settle the body.
      this.fail(incomplete());
    } else {
      raw.on('data', onData);
      raw.on('end', onEnd);
      raw.on('error', onError);
      raw.on('close', onClose);
    }
    this.body = ended.then(async () => {
      await checks.verify();
      return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    });
    // Nobody may ever iterate (a handler that failed first): that must not be an unhandled rejection.
    this.body.catch(() => undefined);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    const body = await this.body;
    if (body.length > 0) yield body;
  }

  destroy(err?: Error): void {
    this.detach();
    this.fail(err ?? incomplete());
  }
}
