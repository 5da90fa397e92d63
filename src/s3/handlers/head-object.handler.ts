/**
 * HeadObject: `HEAD /bucket/key`. The same headers and statuses as GetObject (object-read.ts), no body; errors are
 * sent without a body by the gateway.
 */
import type { S3Handler } from '../s3-context';
import { planRead, queryPartNumber, queryVersionId, rejectDeleteMarker } from './object-read';

/** The HeadObject handler. */
export const headObject: S3Handler = async (ctx) => {
  const versionId = queryVersionId(ctx);
  const partNumber = queryPartNumber(ctx);
  const info = await ctx.layer.getObjectInfo(ctx.req.bucket!, ctx.req.key!, { versionId });
  rejectDeleteMarker(info, versionId !== undefined);
  const plan = planRead(ctx, info, partNumber);
  if (plan === null) return;
  ctx.res.writeHead(plan.status, plan.headers);
  ctx.res.end();
};
