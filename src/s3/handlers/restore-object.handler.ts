/**
 * RestoreObject: `POST /bucket/key?restore[&versionId=]` with `<RestoreRequest><Days>N</Days></RestoreRequest>`.
 * Puts a local copy of a version that lifecycle moved to a tier back into the erasure set for N (lifecycle) days;
 * the lifecycle engine does the work (lifecycle/engine/restore.ts). Answers as AWS does: 202 when the restore
 * starts, 409 RestoreAlreadyInProgress while it runs, 200 when the version is already restored (its expiry is
 * moved to N days from now), 403 InvalidObjectState for a version that is not in a tier.
 *
 * The body: `Days` is required, a positive integer (not a number: MalformedXML; 0 or less: InvalidArgument).
 * `GlacierJobParameters/Tier` and `Tier` (Standard, Bulk, Expedited) are accepted and ignored: the gateway asks
 * the cloud for its standard retrieval. SELECT restores (`Type`, `SelectParameters`, `OutputLocation`) are not
 * implemented.
 */
import { S3Error } from '../errors/s3-error';
import type { S3Handler } from '../s3-context';
import { sendEmpty } from '../s3-response';
import { asText, parseXml } from '../xml/xml';
import { readSmallBody } from './bucket.helpers';
import { queryVersionId, rejectDeleteMarker } from './object-read';

/** Largest RestoreRequest document accepted. */
const MAX_RESTORE_BODY = 64 * 1024;

const RETRIEVAL_TIERS = new Set(['Standard', 'Bulk', 'Expedited']);

/** The days a RestoreRequest document asks for (see the header for the checks). */
export function parseRestoreRequest(body: Buffer): number {
  const doc = parseXml(body, 'RestoreRequest');
  for (const unsupported of ['Type', 'SelectParameters', 'OutputLocation']) {
    if (unsupported in doc)
      throw new S3Error('NotImplemented', `RestoreRequest ${unsupported} is not implemented`);
  }
  const jobParameters = doc.GlacierJobParameters;
  if (jobParameters !== undefined && (typeof jobParameters !== 'object' || jobParameters === null))
    throw new S3Error('MalformedXML');
  for (const tier of [doc.Tier, (jobParameters as Record<string, unknown> | undefined)?.Tier]) {
    if (tier !== undefined && !RETRIEVAL_TIERS.has(asText(tier))) throw new S3Error('MalformedXML');
  }
  if (!('Days' in doc)) throw new S3Error('MalformedXML');
  const text = asText(doc.Days).trim();
  if (!/^-?\d{1,15}$/.test(text)) throw new S3Error('MalformedXML');
  const days = Number(text);
  if (days < 1) {
    throw new S3Error('InvalidArgument', 'Days must be a positive integer', {
      ArgumentName: 'Days',
      ArgumentValue: text,
    });
  }
  return days;
}

/** The RestoreObject handler. */
export const restoreObject: S3Handler = async (ctx) => {
  const bucket = ctx.req.bucket!;
  const key = ctx.req.key!;
  const versionId = queryVersionId(ctx);
  const days = parseRestoreRequest(await readSmallBody(ctx, MAX_RESTORE_BODY));
  const info = await ctx.layer.getObjectInfo(bucket, key, { versionId });
  rejectDeleteMarker(info, versionId !== undefined);
  if (!ctx.settings.restoreObject) throw new S3Error('InvalidObjectState');
  const outcome = await ctx.settings.restoreObject(bucket, key, info.versionId, days);
  if (outcome === 'in-progress') throw new S3Error('RestoreAlreadyInProgress');
  sendEmpty(ctx, outcome === 'accepted' ? 202 : 200);
};
