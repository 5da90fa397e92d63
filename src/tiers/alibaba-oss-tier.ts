/**
 * The Alibaba Cloud OSS tier, through `ali-oss` with V4 signatures (`authorizationV4` + `region`; V1 is closed to
 * new accounts).
 *
 * - Memory: a body of known size up to one part goes up as one streamed PutObject; anything else is cut into parts
 *   (tier-streams.ts `cutParts`) and sent as a multipart upload with at most `queueSize` parts in flight, because
 *   ali-oss's own `multipartUpload` needs a file or a Buffer, not a stream. A failed multipart upload is aborted.
 * - Addressing: ali-oss puts the bucket in the Host header (virtual-host style) unless `pathStyle` is set
 *   (`sldEnable`); with an IP endpoint it connects to the IP and still names the bucket in Host. The V4 canonical
 *   URI is `/<bucket>/<key>` either way.
 * - Ranged GETs send `Range` and `x-oss-range-behavior: standard` (without it OSS answers 200 with the whole object
 *   for a range it finds invalid) and check the answer is 206 for that start.
 * - Credentials: static keys when given; otherwise the ECS instance's RAM role from the metadata service
 *   (ecs-ram-role-credentials.ts), handed to ali-oss as an STS triple with its refresh hook.
 * - Restore of an already restored object answers 200, which ali-oss reports as an error: that is success.
 */
import OSS from 'ali-oss';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Md5Hasher } from '../common/md5-hasher';
import { EcsRamRoleCredentials, type EcsRamRoleOptions } from './ecs-ram-role-credentials';
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
import { ARCHIVE_CLASSES, hasStaticKeys, type TierDefinition } from './tier-definition';
import { TierError, classify, putFailure } from './tier-error';
import { runProbe } from './tier-probe';
import { checkMetadata, checkRange, checkedBody, countedBody, cutParts, partSizeFor } from './tier-streams';

/** Tuning and compatibility switches of the OSS tier (all optional; defaults suit Alibaba Cloud). */
export interface AlibabaOssTierOptions {
  /** Path-style requests (`/<bucket>/<key>`, ali-oss `sldEnable`) for a hostname endpoint. Default false. */
  pathStyle?: boolean;
  /** Multipart part size in bytes (at least 100 KiB). Default 8 MiB. */
  partSize?: number;
  /** Parts uploaded in parallel (each buffered). Default 2. */
  queueSize?: number;
  /** Entries per ListObjectsV2 or ListMultipartUploads page (1-1000). Default 1000. */
  listPageSize?: number;
  /** Milliseconds one request (one part) may take; a response body may idle this long. Default 60000. */
  timeoutMs?: number;
  /** Where the ECS RAM role's credentials come from when the definition has no keys. */
  ecsRamRole?: EcsRamRoleOptions;
  /** Where a single PutObject's body is hashed (its receipt, see countedBody). Default: on the calling thread. */
  md5?: Md5Hasher;
}

const MiB = 1024 * 1024;
const CONTENT_TYPE = 'application/octet-stream';

/** The slice of ali-oss's options its type declarations leave out. */
type OssOptions = OSS.Options & {
  sldEnable?: boolean;
  agent?: HttpAgent;
  httpsAgent?: HttpsAgent;
  retryMax?: number;
};

/** Per-request options ali-oss accepts for the calls below (its declarations name fewer). */
interface OssRequestOptions {
  headers?: Record<string, string>;
  meta?: Record<string, string>;
  mime?: string;
  timeout?: number;
  contentLength?: number;
  /** RestoreObject: the object's class and the days to keep the restored copy. */
  type?: string;
  Days?: number;
}

type OssHeaders = Record<string, string | undefined>;

/**
 * The ali-oss calls this tier makes, typed as ali-oss 6.23 implements them (lib/object.js, lib/common/multipart.js):
 * `@types/ali-oss` lacks the stream, meta and restore options and types responses loosely.
 */
interface OssCalls {
  put(name: string, body: Buffer, o: OssRequestOptions): Promise<{ res: { headers: OssHeaders } }>;
  putStream(name: string, body: Readable, o: OssRequestOptions): Promise<{ res: { headers: OssHeaders } }>;
  initMultipartUpload(name: string, o: OssRequestOptions): Promise<{ uploadId: string }>;
  uploadPart(
    name: string,
    uploadId: string,
    partNo: number,
    body: Buffer,
    start: number,
    end: number,
    o: OssRequestOptions,
  ): Promise<{ etag: string }>;
  completeMultipartUpload(
    name: string,
    uploadId: string,
    parts: { number: number; etag: string }[],
    o: OssRequestOptions,
  ): Promise<{ res: { headers: OssHeaders } }>;
  abortMultipartUpload(name: string, uploadId: string, o?: OssRequestOptions): Promise<unknown>;
  listUploads(
    query: Record<string, string | number>,
    o: OssRequestOptions,
  ): Promise<{
    uploads: { name: string; uploadId: string; initiated?: string }[];
    nextKeyMarker?: string;
    nextUploadIdMarker?: string;
    isTruncated: boolean;
  }>;
  getStream(
    name: string,
    o: OssRequestOptions,
  ): Promise<{ stream: IncomingMessage; res: { status: number; headers: OssHeaders } }>;
  head(
    name: string,
    o: OssRequestOptions,
  ): Promise<{ meta: Record<string, string> | null; res: { headers: OssHeaders } }>;
  delete(name: string, o: OssRequestOptions): Promise<unknown>;
  listV2(
    query: Record<string, string | number>,
    o: OssRequestOptions,
  ): Promise<{
    objects?: { name: string; size: number; storageClass?: string; lastModified?: string }[];
    isTruncated: boolean;
    nextContinuationToken: string | null;
  }>;
  restore(name: string, o: OssRequestOptions): Promise<unknown>;
}

/** What ali-oss puts on its errors. */
interface OssFailure {
  name?: string;
  code?: string;
  status?: number;
  message?: string;
}

/** A tier in an OSS bucket. */
export class AlibabaOssTier implements TierBackend {
  readonly type = 'oss' as const;
  readonly name: string;
  readonly storageClass: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly md5: Md5Hasher | undefined;
  private readonly pageSize: number;
  private readonly timeoutMs: number;
  private readonly agent = new HttpAgent({ keepAlive: true, maxSockets: 50 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 50 });
  private readonly ready: () => Promise<OssCalls>;

  constructor(def: TierDefinition, opts: AlibabaOssTierOptions = {}) {
    this.name = def.name;
    this.storageClass = def.storageClass;
    this.prefix = def.prefix;
    this.partSize = Math.max(opts.partSize ?? 8 * MiB, 100 * 1024);
    this.queueSize = Math.max(opts.queueSize ?? 2, 1);
    this.md5 = opts.md5;
    this.pageSize = Math.min(Math.max(opts.listPageSize ?? 1000, 1), 1000);
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    const region = `oss-${def.region.replace(/^oss-/, '')}`;
    const base: Omit<OssOptions, 'accessKeyId' | 'accessKeySecret'> = {
      region,
      endpoint: def.endpoint || `https://${region}.aliyuncs.com`,
      bucket: def.bucket,
      authorizationV4: true,
      secure: !def.endpoint || def.endpoint.startsWith('https:'),
      timeout: this.timeoutMs,
      sldEnable: opts.pathStyle ?? false,
      agent: this.agent,
      httpsAgent: this.httpsAgent,
      retryMax: 0,
    };
    if (hasStaticKeys(def)) {
      const client = calls(new OSS({ ...base, accessKeyId: def.accessKey, accessKeySecret: def.secretKey }));
      this.ready = () => Promise.resolve(client);
    } else {
      // ali-oss refreshes through refreshSTSToken every interval; the provider refetches near expiry.
      const role = new EcsRamRoleCredentials(opts.ecsRamRole);
      const connect = async (): Promise<OssCalls> => {
        const c = await role.get();
        return calls(
          new OSS({
            ...base,
            accessKeyId: c.accessKeyId,
            accessKeySecret: c.accessKeySecret,
            stsToken: c.stsToken,
            refreshSTSToken: () => role.get(),
            refreshSTSTokenInterval: 5 * 60_000,
          }),
        );
      };
      let client: Promise<OssCalls> | undefined;
      this.ready = () =>
        (client ??= connect().catch((err: unknown) => {
          client = undefined;
          throw err;
        }));
    }
  }

  /**
   * A body of known size up to one part streams through as one PutObject and holds nothing; a larger or unsized one
   * holds `queueSize` parts in flight and the one being cut.
   */
  putMemory(size?: number): number {
    if (this.single(size)) return 0;
    return (this.queueSize + 1) * partSizeFor(size, this.partSize);
  }

  /** Whether a body of `size` bytes goes up as one streamed PutObject (known, and no larger than a part). */
  private single(size: number | undefined): boolean {
    return size !== undefined && size <= this.partSize;
  }

  async put(key: string, body: Readable, opts: TierPutOptions = {}): Promise<TierPutResult> {
    checkMetadata(opts.metadata, this.name);
    const oss = await this.ready();
    const name = this.prefix + key;
    const headers = { 'x-oss-storage-class': opts.storageClass ?? this.storageClass };
    const common: OssRequestOptions = {
      headers,
      meta: opts.metadata,
      mime: CONTENT_TYPE,
      timeout: this.timeoutMs,
    };
    const single = this.single(opts.size);
    const counted = countedBody(body, opts.size, this.name, { md5: single, hasher: this.md5 });
    try {
      if (single) {
        const out = await oss.putStream(name, counted.stream, { ...common, contentLength: opts.size });
        return { ...this.putResult(out.res), size: counted.count(), md5: await counted.md5() };
      }
      const partSize = partSizeFor(opts.size, this.partSize);
      return await this.putParts(oss, name, counted, partSize, common, opts.signal);
    } catch (err) {
      counted.stream.destroy();
      throw putFailure(this.error('put', key, err));
    }
  }

  /** Multipart upload of a stream: one part is read while up to queueSize parts are in flight. */
  private async putParts(
    oss: OssCalls,
    name: string,
    counted: ReturnType<typeof countedBody>,
    partSize: number,
    common: OssRequestOptions,
    signal: AbortSignal | undefined,
  ): Promise<TierPutResult> {
    const parts = cutParts(counted.stream, partSize);
    const first = await parts.next();
    const firstPart = first.done ? Buffer.alloc(0) : first.value;
    if (firstPart.length < partSize) {
      // The whole body fitted in one part: one PutObject (with Content-MD5, which ali-oss adds for Buffers).
      const out = await oss.put(name, firstPart, common);
      return { ...this.putResult(out.res), size: counted.count() };
    }
    const { uploadId } = await oss.initMultipartUpload(name, common);
    const done: { number: number; etag: string }[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: Error | undefined;
    const send = (number: number, part: Buffer): void => {
      const p = oss
        .uploadPart(name, uploadId, number, part, 0, part.length, { timeout: this.timeoutMs })
        .then((r) => {
          done.push({ number, etag: r.etag });
        })
        .catch((err: unknown) => {
          failure ??= err instanceof Error ? err : new Error(String(err));
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    try {
      let number = 1;
      send(number, firstPart);
      for await (const part of parts) {
        if (signal?.aborted)
          throw new TierError('Rejected', 'put aborted by the caller', { tier: this.name });
        while (inFlight.size >= this.queueSize && failure === undefined) await Promise.race(inFlight);
        if (failure !== undefined) break;
        send(++number, part);
      }
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure;
      done.sort((a, b) => a.number - b.number);
      const out = await oss.completeMultipartUpload(name, uploadId, done, {
        timeout: this.timeoutMs,
      });
      return { ...this.putResult(out.res), size: counted.count() };
    } catch (err) {
      await Promise.allSettled(inFlight);
      await oss.abortMultipartUpload(name, uploadId).catch(() => undefined);
      throw err;
    }
  }

  private putResult(res: { headers: OssHeaders }): { etag: string; versionId?: string } {
    const headers = res.headers;
    return { etag: headers.etag ?? '', versionId: headers['x-oss-version-id'] };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    if (range) checkRange(range, this.name);
    const oss = await this.ready();
    let out: Awaited<ReturnType<OssCalls['getStream']>>;
    try {
      const headers: Record<string, string> = range
        ? { Range: `bytes=${range.start}-${range.end}`, 'x-oss-range-behavior': 'standard' }
        : {};
      out = await oss.getStream(this.prefix + key, { headers, timeout: this.timeoutMs });
    } catch (err) {
      throw await this.getError(key, err);
    }
    const { stream, res } = out;
    if (range) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
      if (res.status !== 206 || !m || Number(m[1]) !== range.start || Number(m[2]) > range.end) {
        stream.destroy();
        throw new TierError(
          'Rejected',
          `get ${key}: asked for bytes ${range.start}-${range.end}, the server answered ${res.status} "${res.headers['content-range'] ?? ''}"`,
          { tier: this.name, operation: 'get', status: res.status },
        );
      }
    }
    // ali-oss stops its timers once headers arrive: an idle body must still fail rather than hang.
    stream.setTimeout(this.timeoutMs, () =>
      stream.destroy(Object.assign(new Error('response body idle'), { code: 'ETIMEDOUT' })),
    );
    const length = res.headers['content-length'];
    return checkedBody(
      stream,
      length === undefined ? undefined : Number(length),
      (err) => this.error('get', key, err),
      `get ${key}`,
    );
  }

  /**
   * ali-oss cannot read the error body of a streamed GET, so a 403 arrives without its code. Archived objects answer
   * 403 InvalidObjectState; tell that from a refused credential by asking HEAD (only on this failure path).
   */
  private async getError(key: string, err: unknown): Promise<TierError> {
    const e = this.error('get', key, err);
    if (
      e.details.status !== 403 ||
      (e.details.cloudCode !== undefined && e.details.cloudCode !== 'UnknownError')
    )
      return e;
    const info = await this.head(key).catch(() => null);
    if (info && this.isArchiveClass(info.storageClass) && !(info.restore && !info.restore.ongoing))
      return new TierError(
        'ObjectArchived',
        `get ${key}: a ${info.storageClass} object must be restored first`,
        {
          ...e.details,
          cloudCode: 'InvalidObjectState',
        },
      );
    return e;
  }

  async head(key: string): Promise<TierObjectInfo | null> {
    const oss = await this.ready();
    try {
      const out = await oss.head(this.prefix + key, { timeout: this.timeoutMs });
      const h = out.res.headers;
      return {
        size: Number(h['content-length'] ?? 0),
        etag: h.etag ?? '',
        storageClass: h['x-oss-storage-class'] ?? 'Standard',
        metadata: out.meta ?? {},
        lastModified: h['last-modified'] ? new Date(h['last-modified']) : undefined,
        restore: parseRestoreHeader(h['x-oss-restore']),
      };
    } catch (err) {
      const e = this.error('head', key, err);
      if (e.code === 'NotFound') return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    const oss = await this.ready();
    try {
      await oss.delete(this.prefix + key, { timeout: this.timeoutMs });
    } catch (err) {
      const e = this.error('delete', key, err);
      if (e.code !== 'NotFound') throw e;
    }
  }

  async *list(prefix = ''): AsyncIterable<TierListEntry> {
    const oss = await this.ready();
    let token: string | undefined;
    do {
      let page: Awaited<ReturnType<OssCalls['listV2']>>;
      try {
        page = await oss.listV2(
          {
            prefix: this.prefix + prefix,
            'max-keys': this.pageSize,
            ...(token === undefined ? {} : { 'continuation-token': token }),
          },
          { timeout: this.timeoutMs },
        );
      } catch (err) {
        throw this.error('list', prefix, err);
      }
      for (const obj of page.objects ?? []) {
        if (!obj.name.startsWith(this.prefix)) continue;
        yield {
          key: obj.name.slice(this.prefix.length),
          size: Number(obj.size),
          storageClass: obj.storageClass,
          lastModified: obj.lastModified ? new Date(obj.lastModified) : undefined,
        };
      }
      token = page.isTruncated ? (page.nextContinuationToken ?? undefined) : undefined;
    } while (token !== undefined);
  }

  async *listUploads(prefix = ''): AsyncIterable<TierUploadEntry> {
    // OSS pages uploads by (key, upload id): the next page starts after NextKeyMarker's upload NextUploadIdMarker.
    const oss = await this.ready();
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let page: Awaited<ReturnType<OssCalls['listUploads']>>;
      try {
        page = await oss.listUploads(
          {
            prefix: this.prefix + prefix,
            'max-uploads': this.pageSize,
            ...(keyMarker ? { 'key-marker': keyMarker } : {}),
            ...(keyMarker && uploadIdMarker ? { 'upload-id-marker': uploadIdMarker } : {}),
          },
          { timeout: this.timeoutMs },
        );
      } catch (err) {
        throw this.error('listUploads', prefix, err);
      }
      for (const u of page.uploads) {
        if (!u.name.startsWith(this.prefix)) continue;
        yield {
          key: u.name.slice(this.prefix.length),
          uploadId: u.uploadId,
          initiated: u.initiated ? new Date(u.initiated) : undefined,
        };
      }
      keyMarker = page.isTruncated ? page.nextKeyMarker || undefined : undefined;
      uploadIdMarker = page.nextUploadIdMarker || undefined;
    } while (keyMarker !== undefined);
  }

  async abortUpload(key: string, uploadId: string): Promise<void> {
    const oss = await this.ready();
    try {
      await oss.abortMultipartUpload(this.prefix + key, uploadId, { timeout: this.timeoutMs });
    } catch (err) {
      // 404 NoSuchUpload: completed or aborted already.
      const e = this.error('abortUpload', key, err);
      if (e.code !== 'NotFound') throw e;
    }
  }

  probe(): Promise<void> {
    return runProbe(this, 'Standard');
  }

  async restore(key: string, days: number): Promise<TierRestoreOutcome> {
    if (!Number.isSafeInteger(days) || days < 1)
      throw new TierError('InvalidConfig', `restore days must be a positive integer, not ${days}`, {
        tier: this.name,
      });
    const info = await this.head(key);
    if (!info) throw new TierError('NotFound', `restore ${key}: no such object`, { tier: this.name });
    if (!this.isArchiveClass(info.storageClass))
      throw new TierError(
        'InvalidObjectState',
        `restore ${key}: a ${info.storageClass} object needs no restore`,
        {
          tier: this.name,
          operation: 'restore',
        },
      );
    const oss = await this.ready();
    try {
      await oss.restore(this.prefix + key, {
        type: info.storageClass,
        Days: days,
        timeout: this.timeoutMs,
      });
      return 'started';
    } catch (err) {
      const f = err as OssFailure;
      if (f.status === 200) return 'already-restored';
      if (f.code === 'RestoreAlreadyInProgress') return 'in-progress';
      throw this.error('restore', key, err);
    }
  }

  isArchiveClass(storageClass: string): boolean {
    return ARCHIVE_CLASSES.oss.has(storageClass);
  }

  close(): void {
    this.agent.destroy();
    this.httpsAgent.destroy();
  }

  /** Classifies an ali-oss error as a TierError. */
  private error(operation: string, key: string, err: unknown): TierError {
    if (err instanceof TierError) return err;
    const f = (err ?? {}) as OssFailure & { cause?: { code?: string } };
    // ali-oss reports transport failures with status -1 (network) or -2 (timeout), or none at all.
    const answered = f.status !== undefined && f.status > 0;
    const transport = f.status === -1 || f.status === -2;
    const errno =
      f.cause?.code ?? (typeof f.code === 'string' && /^E[A-Z]+$/.test(f.code) ? f.code : undefined);
    const code = classify({
      status: answered ? f.status : undefined,
      cloudCode: answered ? f.code : undefined,
      networkCode: answered ? undefined : transport ? (errno ?? f.name ?? 'RequestError') : errno,
      message: f.message ?? String(err),
    });
    return new TierError(
      code,
      `${operation} ${key}: ${f.code ?? f.name ?? 'error'}: ${f.message ?? String(err)}`,
      {
        tier: this.name,
        operation,
        status: answered ? f.status : undefined,
        cloudCode: f.code,
        cause: err,
      },
    );
  }
}

/** ali-oss's client seen through the calls this tier makes (see OssCalls). */
function calls(client: OSS): OssCalls {
  return client as unknown as OssCalls;
}
