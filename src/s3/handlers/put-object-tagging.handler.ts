/** PutObjectTagging: `PUT /bucket/key?tagging[&versionId=]` with a Tagging document; replaces the whole tag set. */
import type { S3Handler } from '../s3-context';
import { sendEmpty } from '../s3-response';
import { readSmallBody } from './bucket.helpers';
import { MAX_TAGGING_BYTES, parseTaggingXml, replaceTags, versionHeader } from './object-tagging';

/** The PutObjectTagging handler. */
export const putObjectTagging: S3Handler = async (ctx) => {
  const tags = parseTaggingXml(await readSmallBody(ctx, MAX_TAGGING_BYTES));
  const info = await replaceTags(ctx, tags);
  sendEmpty(ctx, 200, versionHeader(info));
};
