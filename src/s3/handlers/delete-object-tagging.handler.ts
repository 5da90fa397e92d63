/** DeleteObjectTagging: `DELETE /bucket/key?tagging[&versionId=]`; removes every tag, 204. */
import type { S3Handler } from '../s3-context';
import { sendEmpty } from '../s3-response';
import { replaceTags, versionHeader } from './object-tagging';

/** The DeleteObjectTagging handler. */
export const deleteObjectTagging: S3Handler = async (ctx) => {
  const info = await replaceTags(ctx, {});
  sendEmpty(ctx, 204, versionHeader(info));
};
