/**
 * The AWS S3 tier (also any S3-compatible endpoint): `@aws-sdk/client-s3` for single requests, `@aws-sdk/lib-storage`
 * `Upload` for multipart uploads of large or unsized streams.
 *
 * - Memory: a body of known size up to one part goes up as one streamed PutObject (nothing buffered); anything else
 *   goes through Upload, which holds at most `queueSize` parts of `partSize` bytes (default 2 x 8 MiB). The part
 *   size grows for known sizes that would need more than 10,000 parts.
 * - Credentials: static keys when the definition has them, else the SDK's default chain (environment, shared
 *   config, ECS task role, EC2 instance profile through IMDS).
 * - An endpoint means an S3-compatible server: path-style addressing (`forcePathStyle`).
 * - Checksums: the SDK's default flexible checksums (CRC32 trailers, aws-chunked bodies) unless `checksums` is
 *   `when-required`, for servers that cannot decode aws-chunked (s3rver stores the framing as data).
 * - Ranged GETs send exactly `bytes=start-end` and check the answer is 206 for that start, so a server that ignores
 *   Range can never make a caller read the wrong bytes.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  RestoreObjectCommand,
  S3Client,
  type S3ClientConfig,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import type { Md5Hasher } from '../common/md5-hasher';
import { parseRestoreHeader } from './restore-header';
import type {
  ByteRange,
  TierBackend,
  TierListEntry,
  TierObjectInfo,
  TierPutOptions,
  TierPutResult,
  TierRestoreOutcome,
  TierUploadEntry,
} from './tier-backend';
import { ARCHIVE_CLASSES, S3_STORAGE_CLASSES, hasStaticKeys, type TierDefinition } from './tier-definition';
import { TierError, classify, putFailure } from './tier-error';
import { runProbe } from './tier-probe';
import { checkMetadata, checkRange, checkedBody, countedBody, partSizeFor } from './tier-streams';

/** Tuning and compatibility switches of the S3 tier (all optional; defaults suit AWS). */
export interface AwsS3TierOptions {
  /** `when-required` for servers that cannot decode aws-chunked bodies (s3rver). Default: the SDK's default. */
  checksums?: 'default' | 'when-required';
  /** Attempts per call inside the SDK (its own backoff) before the error reaches the caller. Default 3. */
  maxAttempts?: number;
  /** Multipart part size in bytes (at least 5 MiB). Default 8 MiB. */
  partSize?: number;
  /** Parts uploaded in parallel (each buffered). Default 2. */
  queueSize?: number;
  /** Entries per ListObjectsV2 or ListMultipartUploads page (1-1000). Default 1000. */
  listPageSize?: number;
  /** Milliseconds to establish a connection. Default 5000. */
  connectTimeoutMs?: number;
  /** Milliseconds a socket may stay idle mid-request. Default 60000. */
  socketTimeoutMs?: number;
  /** Where a single PutObject's body is hashed (its receipt, see countedBody). Default: on the calling thread. */
  md5?: Md5Hasher;
}

const MiB = 1024 * 1024;

/** A tier in an S3 bucket. */
export class AwsS3Tier implements TierBackend {
  readonly type = 's3' as const;
  readonly name: string;
  readonly storageClass: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly md5: Md5Hasher | undefined;
  private readonly pageSize: number;

  constructor(def: TierDefinition, opts: AwsS3TierOptions = {}) {
    this.name = def.name;
    this.storageClass = def.storageClass;
    this.bucket = def.bucket;
    this.prefix = def.prefix;
    this.partSize = Math.max(opts.partSize ?? 8 * MiB, 5 * MiB);
    this.queueSize = Math.max(opts.queueSize ?? 2, 1);
    this.md5 = opts.md5;
    this.pageSize = Math.min(Math.max(opts.listPageSize ?? 1000, 1), 1000);
    const config: S3ClientConfig = {
      region: def.region,
      maxAttempts: opts.maxAttempts ?? 3,
      requestHandler: {
        connectionTimeout: opts.connectTimeoutMs ?? 5000,
        requestTimeout: opts.socketTimeoutMs ?? 60_000,
        httpAgent: { keepAlive: true, maxSockets: 50 },
        httpsAgent: { keepAlive: true, maxSockets: 50 },
      },
    };
    if (def.endpoint) {
      config.endpoint = def.endpoint;
      config.forcePathStyle = true;
    }
    if (hasStaticKeys(def))
      config.credentials = { accessKeyId: def.accessKey, secretAccessKey: def.secretKey };
    if (opts.checksums === 'when-required') {
      config.requestChecksumCalculation = 'WHEN_REQUIRED';
      config.responseChecksumValidation = 'WHEN_REQUIRED';
    }
    this.client = new S3Client(config);
  }

  /**
   * A body of known size up to one part streams through as one PutObject and holds nothing; a larger or unsized one
   * goes through Upload, which holds at most `queueSize` parts.
   */
  putMemory(size?: number): number {
    if (this.single(size)) return 0;
    return this.queueSize * partSizeFor(size, this.partSize);
  }

  /** Whether a body of `size` bytes goes up as one streamed PutObject (known, and no larger than a part). */
  private single(size: number | undefined): boolean {
    return size !== undefined && size <= this.partSize;
  }

  async put(key: string, body: Readable, opts: TierPutOptions = {}): Promise<TierPutResult> {
    checkMetadata(opts.metadata, this.name);
    const single = this.single(opts.size);
    const counted = countedBody(body, opts.size, this.name, { md5: single, hasher: this.md5 });
    const params = {
      Bucket: this.bucket,
      Key: this.prefix + key,
      Body: counted.stream,
      StorageClass: storageClassOf(opts.storageClass ?? this.storageClass, this.name),
      Metadata: opts.metadata,
    };
    try {
      if (single) {
        const out = await this.client.send(new PutObjectCommand({ ...params, ContentLength: opts.size }), {
          abortSignal: opts.signal,
        });
        return {
          etag: out.ETag ?? '',
          versionId: out.VersionId,
          size: counted.count(),
          md5: await counted.md5(),
        };
      }
      const partSize = partSizeFor(opts.size, this.partSize);
      const abort = new AbortController();
      opts.signal?.addEventListener('abort', () => abort.abort(), { once: true });
      const upload = new Upload({
        client: this.client,
        params,
        partSize,
        queueSize: this.queueSize,
        leavePartsOnError: false,
        abortController: abort,
      });
      const out = await upload.done();
      return { etag: out.ETag ?? '', versionId: out.VersionId, size: counted.count() };
    } catch (err) {
      counted.stream.destroy();
      throw putFailure(this.error('put', key, err));
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    if (range) checkRange(range, this.name);
    let out;
    try {
      out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
    } catch (err) {
      throw this.error('get', key, err);
    }
    const body = out.Body as Readable | undefined;
    if (!body)
      throw new TierError('Unavailable', `get ${key}: no body`, { tier: this.name, operation: 'get' });
    if (range) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(out.ContentRange ?? '');
      if (!m || Number(m[1]) !== range.start || Number(m[2]) > range.end) {
        body.destroy();
        throw new TierError(
          'Rejected',
          `get ${key}: asked for bytes ${range.start}-${range.end}, the server answered "${out.ContentRange ?? 'the whole object'}"`,
          { tier: this.name, operation: 'get' },
        );
      }
    }
    return checkedBody(body, out.ContentLength, (err) => this.error('get', key, err), `get ${key}`);
  }

  async head(key: string): Promise<TierObjectInfo | null> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
      );
      return {
        size: out.ContentLength ?? 0,
        etag: out.ETag ?? '',
        // S3 omits x-amz-storage-class for STANDARD objects.
        storageClass: out.StorageClass ?? 'STANDARD',
        metadata: lowerKeys(out.Metadata ?? {}),
        lastModified: out.LastModified,
        restore: parseRestoreHeader(out.Restore),
      };
    } catch (err) {
      const e = this.error('head', key, err);
      if (e.code === 'NotFound') return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
    } catch (err) {
      const e = this.error('delete', key, err);
      if (e.code !== 'NotFound') throw e;
    }
  }

  async *list(prefix = ''): AsyncIterable<TierListEntry> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ContinuationToken: token,
            MaxKeys: this.pageSize,
          }),
        );
      } catch (err) {
        throw this.error('list', prefix, err);
      }
      for (const obj of page.Contents ?? []) {
        if (obj.Key === undefined || !obj.Key.startsWith(this.prefix)) continue;
        yield {
          key: obj.Key.slice(this.prefix.length),
          size: obj.Size ?? 0,
          storageClass: obj.StorageClass,
          lastModified: obj.LastModified,
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async *listUploads(prefix = ''): AsyncIterable<TierUploadEntry> {
    // S3 pages uploads by (key, upload id): the next page starts after NextKeyMarker's upload NextUploadIdMarker.
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
            MaxUploads: this.pageSize,
          }),
        );
      } catch (err) {
        throw this.error('listUploads', prefix, err);
      }
      for (const u of page.Uploads ?? []) {
        if (u.Key === undefined || u.UploadId === undefined || !u.Key.startsWith(this.prefix)) continue;
        yield { key: u.Key.slice(this.prefix.length), uploadId: u.UploadId, initiated: u.Initiated };
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.NextUploadIdMarker;
    } while (keyMarker !== undefined);
  }

  async abortUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.prefix + key, UploadId: uploadId }),
      );
    } catch (err) {
      // 404 NoSuchUpload: completed or aborted already.
      const e = this.error('abortUpload', key, err);
      if (e.code !== 'NotFound') throw e;
    }
  }

  probe(): Promise<void> {
    return runProbe(this, 'STANDARD');
  }

  async restore(key: string, days: number): Promise<TierRestoreOutcome> {
    if (!Number.isSafeInteger(days) || days < 1)
      throw new TierError('InvalidConfig', `restore days must be a positive integer, not ${days}`, {
        tier: this.name,
      });
    try {
      const out = await this.client.send(
        new RestoreObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          RestoreRequest: { Days: days, GlacierJobParameters: { Tier: 'Standard' } },
        }),
      );
      return out.$metadata.httpStatusCode === 200 ? 'already-restored' : 'started';
    } catch (err) {
      if (errorName(err) === 'RestoreAlreadyInProgress') return 'in-progress';
      const e = this.error('restore', key, err);
      // S3 answers 403 InvalidObjectState for a restore of an object that is not in an archive class.
      if (e.code === 'ObjectArchived')
        throw new TierError('InvalidObjectState', e.message, { ...e.details, cause: err });
      throw e;
    }
  }

  isArchiveClass(storageClass: string): boolean {
    return ARCHIVE_CLASSES.s3.has(storageClass);
  }

  close(): void {
    this.client.destroy();
  }

  /** Classifies an SDK error as a TierError. */
  private error(operation: string, key: string, err: unknown): TierError {
    if (err instanceof TierError) return err;
    const e = (err ?? {}) as {
      name?: string;
      code?: string;
      message?: string;
      $metadata?: { httpStatusCode?: number };
    };
    const status = e.$metadata?.httpStatusCode;
    const answered = status !== undefined;
    const name = e.name ?? '';
    const code = classify({
      status,
      cloudCode: answered ? name : undefined,
      networkCode: answered ? undefined : (e.code ?? (name !== '' && name !== 'Error' ? name : undefined)),
      message: e.message ?? String(err),
    });
    return new TierError(code, `${operation} ${key}: ${name || 'error'}: ${e.message ?? String(err)}`, {
      tier: this.name,
      operation,
      status,
      cloudCode: answered ? name : e.code,
      cause: err,
    });
  }
}

function errorName(err: unknown): string | undefined {
  return (err as { name?: string } | undefined)?.name;
}

function lowerKeys(meta: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(meta).map(([k, v]) => [k.toLowerCase(), v]));
}

/** `name` as the SDK's StorageClass, after checking it is one a tier may write. */
function storageClassOf(name: string, tier: string): StorageClass {
  if (!(S3_STORAGE_CLASSES as readonly string[]).includes(name))
    throw new TierError('InvalidConfig', `"${name}" is not an S3 storage class a tier may write`, { tier });
  return name as StorageClass;
}
