/**
 * Routing as data (after Garage's `router.rs`): one table maps the method, what the request names (service, bucket
 * or object), the sub-resource query keys and a few discriminating headers to the operation, named exactly as AWS
 * names it, with the IAM action it needs. The first matching row wins, so specific rows come before general ones.
 */

/** Operations tiergate implements, by their AWS names. */
export const S3_OPERATIONS = [
  'ListBuckets',
  'CreateBucket',
  'DeleteBucket',
  'HeadBucket',
  'GetBucketLocation',
  'PutBucketTagging',
  'GetBucketTagging',
  'DeleteBucketTagging',
  'PutBucketLifecycleConfiguration',
  'GetBucketLifecycleConfiguration',
  'DeleteBucketLifecycle',
  'ListObjects',
  'ListObjectsV2',
  'ListMultipartUploads',
  'DeleteObjects',
  'PutObject',
  'CopyObject',
  'GetObject',
  'HeadObject',
  'DeleteObject',
  'PutObjectTagging',
  'GetObjectTagging',
  'DeleteObjectTagging',
  'RestoreObject',
  'CreateMultipartUpload',
  'UploadPart',
  'UploadPartCopy',
  'CompleteMultipartUpload',
  'AbortMultipartUpload',
  'ListParts',
  'GetBucketVersioning',
  'PutBucketVersioning',
  'ListObjectVersions',
  'GetBucketAcl',
  'GetObjectAcl',
] as const;

/** An S3 operation name. */
export type S3Operation = (typeof S3_OPERATIONS)[number];

/** What a request path names. */
export type Target = 'service' | 'bucket' | 'object';

/** One row of the routing table. */
export interface Route {
  op: S3Operation;
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  target: Target;
  /** Query keys that must all be present (sub-resources and discriminators). */
  query?: readonly string[];
  /** Query key that must have this exact value. */
  queryValue?: { key: string; value: string };
  /** Header that must be present (x-amz-copy-source turns a PUT into a copy). */
  header?: string;
  /** The IAM action the operation needs. */
  action: string;
}

/** The table. Order matters: the first row whose conditions all hold is the operation. */
export const ROUTES: readonly Route[] = [
  { op: 'ListBuckets', method: 'GET', target: 'service', action: 's3:ListAllMyBuckets' },

  {
    op: 'GetBucketLocation',
    method: 'GET',
    target: 'bucket',
    query: ['location'],
    action: 's3:GetBucketLocation',
  },
  {
    op: 'GetBucketVersioning',
    method: 'GET',
    target: 'bucket',
    query: ['versioning'],
    action: 's3:GetBucketVersioning',
  },
  {
    op: 'ListObjectVersions',
    method: 'GET',
    target: 'bucket',
    query: ['versions'],
    action: 's3:ListBucketVersions',
  },
  { op: 'GetBucketAcl', method: 'GET', target: 'bucket', query: ['acl'], action: 's3:GetBucketAcl' },
  {
    op: 'GetBucketTagging',
    method: 'GET',
    target: 'bucket',
    query: ['tagging'],
    action: 's3:GetBucketTagging',
  },
  {
    op: 'GetBucketLifecycleConfiguration',
    method: 'GET',
    target: 'bucket',
    query: ['lifecycle'],
    action: 's3:GetLifecycleConfiguration',
  },
  {
    op: 'ListMultipartUploads',
    method: 'GET',
    target: 'bucket',
    query: ['uploads'],
    action: 's3:ListBucketMultipartUploads',
  },
  {
    op: 'ListObjectsV2',
    method: 'GET',
    target: 'bucket',
    queryValue: { key: 'list-type', value: '2' },
    action: 's3:ListBucket',
  },
  { op: 'ListObjects', method: 'GET', target: 'bucket', action: 's3:ListBucket' },
  { op: 'HeadBucket', method: 'HEAD', target: 'bucket', action: 's3:ListBucket' },
  {
    op: 'PutBucketTagging',
    method: 'PUT',
    target: 'bucket',
    query: ['tagging'],
    action: 's3:PutBucketTagging',
  },
  {
    op: 'PutBucketVersioning',
    method: 'PUT',
    target: 'bucket',
    query: ['versioning'],
    action: 's3:PutBucketVersioning',
  },
  {
    op: 'PutBucketLifecycleConfiguration',
    method: 'PUT',
    target: 'bucket',
    query: ['lifecycle'],
    action: 's3:PutLifecycleConfiguration',
  },
  { op: 'CreateBucket', method: 'PUT', target: 'bucket', action: 's3:CreateBucket' },
  {
    op: 'DeleteBucketTagging',
    method: 'DELETE',
    target: 'bucket',
    query: ['tagging'],
    action: 's3:PutBucketTagging',
  },
  {
    op: 'DeleteBucketLifecycle',
    method: 'DELETE',
    target: 'bucket',
    query: ['lifecycle'],
    action: 's3:PutLifecycleConfiguration',
  },
  { op: 'DeleteBucket', method: 'DELETE', target: 'bucket', action: 's3:DeleteBucket' },
  { op: 'DeleteObjects', method: 'POST', target: 'bucket', query: ['delete'], action: 's3:DeleteObject' },

  { op: 'GetObjectAcl', method: 'GET', target: 'object', query: ['acl'], action: 's3:GetObjectAcl' },
  {
    op: 'GetObjectTagging',
    method: 'GET',
    target: 'object',
    query: ['tagging'],
    action: 's3:GetObjectTagging',
  },
  {
    op: 'ListParts',
    method: 'GET',
    target: 'object',
    query: ['uploadId'],
    action: 's3:ListMultipartUploadParts',
  },
  { op: 'GetObject', method: 'GET', target: 'object', action: 's3:GetObject' },
  { op: 'HeadObject', method: 'HEAD', target: 'object', action: 's3:GetObject' },
  {
    op: 'PutObjectTagging',
    method: 'PUT',
    target: 'object',
    query: ['tagging'],
    action: 's3:PutObjectTagging',
  },
  {
    op: 'UploadPartCopy',
    method: 'PUT',
    target: 'object',
    query: ['partNumber', 'uploadId'],
    header: 'x-amz-copy-source',
    action: 's3:PutObject',
  },
  {
    op: 'UploadPart',
    method: 'PUT',
    target: 'object',
    query: ['partNumber', 'uploadId'],
    action: 's3:PutObject',
  },
  { op: 'CopyObject', method: 'PUT', target: 'object', header: 'x-amz-copy-source', action: 's3:PutObject' },
  { op: 'PutObject', method: 'PUT', target: 'object', action: 's3:PutObject' },
  {
    op: 'DeleteObjectTagging',
    method: 'DELETE',
    target: 'object',
    query: ['tagging'],
    action: 's3:DeleteObjectTagging',
  },
  {
    op: 'AbortMultipartUpload',
    method: 'DELETE',
    target: 'object',
    query: ['uploadId'],
    action: 's3:AbortMultipartUpload',
  },
  { op: 'DeleteObject', method: 'DELETE', target: 'object', action: 's3:DeleteObject' },
  { op: 'RestoreObject', method: 'POST', target: 'object', query: ['restore'], action: 's3:RestoreObject' },
  {
    op: 'CreateMultipartUpload',
    method: 'POST',
    target: 'object',
    query: ['uploads'],
    action: 's3:PutObject',
  },
  {
    op: 'CompleteMultipartUpload',
    method: 'POST',
    target: 'object',
    query: ['uploadId'],
    action: 's3:PutObject',
  },
];

/**
 * Sub-resources S3 defines. A request carrying one that no row of its method handles is refused with
 * NotImplemented, never served as the plain operation (`GET /bucket?acl` must not list the bucket).
 */
export const SUBRESOURCES: ReadonlySet<string> = new Set([
  'accelerate',
  'acl',
  'analytics',
  'attributes',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'partNumber',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'session',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versioning',
  'versions',
  'website',
]);

/** Result of routing: the row, or why none matched. */
export type RouteMatch = { route: Route } | { error: 'NotImplemented' | 'MethodNotAllowed' };

/** Picks the operation for a request. */
export function matchRoute(
  method: string,
  target: Target,
  query: URLSearchParams,
  headers: Record<string, string | string[] | undefined>,
): RouteMatch {
  let methodKnown = false;
  for (const r of ROUTES) {
    if (r.target !== target || r.method !== method) continue;
    methodKnown = true;
    if (r.query && !r.query.every((k) => query.has(k))) continue;
    if (r.queryValue && query.get(r.queryValue.key) !== r.queryValue.value) continue;
    if (r.header && headers[r.header] === undefined) continue;
    // A sub-resource this row does not consume means the client asked for something else.
    const consumed = new Set(r.query ?? []);
    const unhandled = [...query.keys()].some((k) => SUBRESOURCES.has(k) && !consumed.has(k));
    if (unhandled) {
      // partNumber on GET/HEAD object is a plain GetObject/HeadObject parameter.
      const onlyPartNumber = [...query.keys()].filter((k) => SUBRESOURCES.has(k) && !consumed.has(k));
      if (!(r.op === 'GetObject' || r.op === 'HeadObject') || onlyPartNumber.some((k) => k !== 'partNumber'))
        continue;
    }
    return { route: r };
  }
  return { error: methodKnown ? 'NotImplemented' : 'MethodNotAllowed' };
}
