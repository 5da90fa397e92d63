/** The multipart-upload operations, by their AWS names, for the handler registry (handlers/index.ts). */
import type { S3Operation } from '../router/routes';
import type { S3Handler } from '../s3-context';
import { abortMultipartUpload } from './abort-multipart-upload.handler';
import { completeMultipartUpload } from './complete-multipart-upload.handler';
import { createMultipartUpload } from './create-multipart-upload.handler';
import { listMultipartUploads } from './list-multipart-uploads.handler';
import { listParts } from './list-parts.handler';
import { uploadPartCopy } from './upload-part-copy.handler';
import { uploadPart } from './upload-part.handler';

/** Multipart handlers: create, upload (and copy) parts, complete, abort, and the two listings. */
export const MULTIPART_HANDLERS: Partial<Record<S3Operation, S3Handler>> = {
  CreateMultipartUpload: createMultipartUpload,
  UploadPart: uploadPart,
  UploadPartCopy: uploadPartCopy,
  CompleteMultipartUpload: completeMultipartUpload,
  AbortMultipartUpload: abortMultipartUpload,
  ListParts: listParts,
  ListMultipartUploads: listMultipartUploads,
};
