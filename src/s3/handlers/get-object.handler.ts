/**
 * GetObject: `GET /bucket/key`. Conditionals (304/412), Range or partNumber (206/416), response-* overrides and
 * stored checksums (x-amz-checksum-mode) are planned in object-read.ts; the bytes stream to the socket with
 * backpressure. Once the status is sent, a storage failure can only cut the connection (the gateway does that
 * when headers are out): the client sees a short body against Content-Length, never a second status.
 */
import { pipeline } from 'node:stream/promises';
import type { GetObjectResult } from '../../storage/object-layer';
import { isStorageError } from '../../storage/errors';
import { S3Error } from '../errors/s3-error';
import type { S3Context, S3Handler } from '../s3-context';
import {
  isPlainRead,
  planRead,
  queryPartNumber,
  queryVersionId,
  rejectDeleteMarker,
  type ReadPlan,
} from './object-read';

/** Retries when the object is overwritten between reading its metadata and opening its data. */
const ATTEMPTS = 3;

/** Opens the object and plans the response, or returns null after answering 304. */
async function open(ctx: S3Context): Promise<{ plan: ReadPlan; result: GetObjectResult } | null> {
  const bucket = ctx.req.bucket!;
  const key = ctx.req.key!;
  const versionId = queryVersionId(ctx);
  const partNumber = queryPartNumber(ctx);
  if (isPlainRead(ctx)) {
    // The common case needs one metadata read; a delete marker falls through to the exact error below.
    try {
      const result = await ctx.layer.getObject(bucket, key, { versionId });
      return { plan: planRead(ctx, result.info, undefined)!, result };
    } catch (err) {
      if (!isStorageError(err, 'ObjectNotFound')) throw err;
    }
  }
  for (let attempt = 1; ; attempt++) {
    const info = await ctx.layer.getObjectInfo(bucket, key, { versionId });
    rejectDeleteMarker(info, versionId !== undefined);
    const plan = planRead(ctx, info, partNumber);
    if (plan === null) return null;
    const result = await ctx.layer.getObject(bucket, key, { versionId: info.versionId, range: plan.range });
    if (result.info.etag === info.etag && result.info.modTime.getTime() === info.modTime.getTime()) {
      return { plan, result };
    }
    if (!result.body) result.stream.destroy();
    if (attempt === ATTEMPTS) throw new S3Error('SlowDown');
  }
}

/** The GetObject handler. */
export const getObject: S3Handler = async (ctx) => {
  const opened = await open(ctx);
  if (opened === null) return;
  const { plan, result } = opened;
  ctx.res.writeHead(plan.status, plan.headers);
  if (result.body) {
    ctx.res.end(result.body);
    return;
  }
  try {
    await pipeline(result.stream, ctx.res);
  } catch (err) {
    // A client that went away is not an error. Anything else (a read quorum lost mid-object) goes to the
    // gateway, which can only cut the connection now that the status is out, and logs it.
    if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return;
    throw err;
  }
};
