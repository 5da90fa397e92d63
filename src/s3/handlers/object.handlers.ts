/** The object operations' handlers, by operation name, for the registry in index.ts. */
import type { S3Operation } from '../router/routes';
import type { S3Handler } from '../s3-context';
import { copyObject } from './copy-object.handler';
import { deleteObjectTagging } from './delete-object-tagging.handler';
import { deleteObject } from './delete-object.handler';
import { getObjectTagging } from './get-object-tagging.handler';
import { getObject } from './get-object.handler';
import { headObject } from './head-object.handler';
import { putObjectTagging } from './put-object-tagging.handler';
import { putObject } from './put-object.handler';
import { getObjectAcl } from './get-object-acl.handler';
import { restoreObject } from './restore-object.handler';

/** PutObject, GetObject, HeadObject, DeleteObject, CopyObject, RestoreObject and the object tagging operations. */
export const OBJECT_HANDLERS: Partial<Record<S3Operation, S3Handler>> = {
  GetObjectAcl: getObjectAcl,
  PutObject: putObject,
  GetObject: getObject,
  HeadObject: headObject,
  DeleteObject: deleteObject,
  CopyObject: copyObject,
  PutObjectTagging: putObjectTagging,
  GetObjectTagging: getObjectTagging,
  DeleteObjectTagging: deleteObjectTagging,
  RestoreObject: restoreObject,
};
