/** GetObjectTagging: `GET /bucket/key?tagging[&versionId=]`; an untagged object has an empty TagSet. */
import type { S3Handler } from '../s3-context';
import { sendXml } from '../s3-response';
import { taggedVersion, taggingXml, versionHeader } from './object-tagging';

/** The GetObjectTagging handler. */
export const getObjectTagging: S3Handler = async (ctx) => {
  const info = await taggedVersion(ctx);
  sendXml(ctx, 200, 'Tagging', taggingXml(info.tags), versionHeader(info));
};
