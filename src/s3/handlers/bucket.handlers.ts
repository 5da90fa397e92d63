/** The bucket-level operations (service and bucket targets of the routing table), by AWS operation name. */
import type { S3Operation } from '../router/routes';
import type { S3Handler } from '../s3-context';
import { createBucket } from './create-bucket.handler';
import { deleteBucketTagging } from './delete-bucket-tagging.handler';
import { deleteBucket } from './delete-bucket.handler';
import { deleteObjects } from './delete-objects.handler';
import { getBucketLocation } from './get-bucket-location.handler';
import { getBucketTagging } from './get-bucket-tagging.handler';
import { headBucket } from './head-bucket.handler';
import { listBuckets } from './list-buckets.handler';
import { listObjectsV2 } from './list-objects-v2.handler';
import { listObjects } from './list-objects.handler';
import { putBucketTagging } from './put-bucket-tagging.handler';
import { getBucketAcl } from './get-bucket-acl.handler';
import { getBucketVersioning, putBucketVersioning } from './bucket-versioning.handlers';
import { listObjectVersions } from './list-object-versions.handler';
import { putBucketLifecycleConfiguration } from './put-bucket-lifecycle-configuration.handler';
import { getBucketLifecycleConfiguration } from './get-bucket-lifecycle-configuration.handler';
import { deleteBucketLifecycle } from './delete-bucket-lifecycle.handler';

/** Handlers of the bucket operations, merged into the registry by handlers/index.ts. */
export const BUCKET_HANDLERS: Partial<Record<S3Operation, S3Handler>> = {
  ListBuckets: listBuckets,
  CreateBucket: createBucket,
  DeleteBucket: deleteBucket,
  HeadBucket: headBucket,
  GetBucketLocation: getBucketLocation,
  PutBucketTagging: putBucketTagging,
  GetBucketTagging: getBucketTagging,
  DeleteBucketTagging: deleteBucketTagging,
  PutBucketLifecycleConfiguration: putBucketLifecycleConfiguration,
  GetBucketLifecycleConfiguration: getBucketLifecycleConfiguration,
  DeleteBucketLifecycle: deleteBucketLifecycle,
  ListObjects: listObjects,
  ListObjectsV2: listObjectsV2,
  DeleteObjects: deleteObjects,
  GetBucketVersioning: getBucketVersioning,
  PutBucketVersioning: putBucketVersioning,
  ListObjectVersions: listObjectVersions,
  GetBucketAcl: getBucketAcl,
};
