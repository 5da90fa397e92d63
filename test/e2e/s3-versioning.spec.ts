/**
 * End to end: bucket versioning as AWS S3 defines it, through the real gateway on temp drives, driven by
 * @aws-sdk/client-s3 and, where the SDK hides what is on the wire (the order of Version and DeleteMarker elements,
 * documents the SDK will not build), by raw SigV4-signed requests. Proves: the versioning configuration (absent,
 * Enabled, Suspended, MalformedXML, no way back); version ids from PutObject, CopyObject and multipart; reads by
 * version id; delete markers (404 / 405 with x-amz-delete-marker, hidden from ListObjectsV2, removable); deleting
 * versions for good; the `null` version of Suspended and unversioned buckets; ListObjectVersions order, prefix,
 * delimiter, paging, encoding and argument errors; tagging one version; and DeleteObjects with version ids.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandInput,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { parseErrorXml, s3Failure, startGateway, type TestGateway } from './harness';

const MiB = 1024 * 1024;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Well-formed (a UUIDv7, as tiergate makes them) but never handed out. */
const UNKNOWN_ID = '01890000-0000-7000-8000-000000000000';
const md5 = (data: Buffer | string, enc: 'hex' | 'base64') => createHash('md5').update(data).digest(enc);
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** One listed version or delete marker: key, version id, IsLatest, and whether it is a delete marker. */
type Row = [key: string, versionId: string, latest: boolean, marker: boolean];

let gw: TestGateway;
let s3: S3Client;

async function setVersioning(bucket: string, Status: 'Enabled' | 'Suspended'): Promise<void> {
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status } }));
}

async function createBucket(bucket: string, status?: 'Enabled' | 'Suspended'): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  if (status) await setVersioning(bucket, status);
}

/** PUTs `body` and returns the VersionId the response names (undefined when none). */
async function put(bucket: string, key: string, body: string): Promise<string | undefined> {
  const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  assert.equal(out.ETag, `"${md5(body, 'hex')}"`);
  return out.VersionId;
}

/** PUTs `body` into an Enabled bucket and returns its version id, checked to be a real (non-null) one. */
async function putVersion(bucket: string, key: string, body: string): Promise<string> {
  const id = await put(bucket, key, body);
  assert.match(id ?? '', UUID_RE, 'an Enabled bucket names every new version');
  return id!;
}

/** GETs a key (or one version of it): body, VersionId and ETag, comparable with `seen`. */
async function read(bucket: string, key: string, VersionId?: string) {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId }));
  return { body: await got.Body!.transformToString(), versionId: got.VersionId, etag: got.ETag };
}
const seen = (body: string, versionId: string | undefined) => ({
  body,
  versionId,
  etag: `"${md5(body, 'hex')}"`,
});

/** HeadObject of a key (or one version of it): [VersionId, ETag, ContentLength]. */
async function headOf(bucket: string, key: string, VersionId?: string) {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId }));
  return [head.VersionId, head.ETag, head.ContentLength];
}

/** DeleteObject (204), returning what the response says. */
async function del(bucket: string, key: string, VersionId?: string) {
  const out = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, VersionId }));
  assert.equal(out.$metadata.httpStatusCode, 204);
  return { deleteMarker: out.DeleteMarker, versionId: out.VersionId };
}

/** The S3 error a call failed with, with the response headers (x-amz-delete-marker is not modelled on errors). */
async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof S3ServiceException, `expected an S3 error, got ${String(err)}`);
    return { code: err.name, status: err.$metadata.httpStatusCode, headers: err.$response?.headers ?? {} };
  }
  return assert.fail('the call succeeded');
}

/** How GetObject fails, with the response headers. */
const getFailure = (bucket: string, key: string, VersionId?: string) =>
  failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId })));

const tag = (xml: string, name: string) => new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1];

/** ListObjectVersions sent raw, so the interleaving of Version and DeleteMarker elements is visible. */
async function rawVersions(bucket: string, params: Record<string, string | undefined> = {}) {
  const query = Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `&${k}=${encodeURIComponent(v!)}`)
    .join('');
  const res = await gw.signed({ method: 'GET', path: `/${bucket}?versions${query}` });
  assert.equal(res.status, 200, res.text);
  const rows = [...res.text.matchAll(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g)].map(([, kind, x]): Row => [
    tag(x, 'Key')!,
    tag(x, 'VersionId')!,
    tag(x, 'IsLatest') === 'true',
    kind !== 'Version',
  ]);
  return {
    text: res.text,
    rows,
    prefixes: [...res.text.matchAll(/<CommonPrefixes><Prefix>(.*?)<\/Prefix>/g)].map((m) => m[1]),
    truncated: tag(res.text, 'IsTruncated') === 'true',
    nextKeyMarker: tag(res.text, 'NextKeyMarker'),
    nextVersionIdMarker: tag(res.text, 'NextVersionIdMarker'),
  };
}

/** ListObjectVersions through the SDK: Versions and DeleteMarkers merged, by key, newest (LastModified) first. */
async function sdkVersions(input: ListObjectVersionsCommandInput): Promise<Row[]> {
  const out = await s3.send(new ListObjectVersionsCommand(input));
  const all = [
    ...(out.Versions ?? []).map((v) => ({ ...v, marker: false })),
    ...(out.DeleteMarkers ?? []).map((v) => ({ ...v, marker: true })),
  ];
  all.sort((a, b) => byteOrder(a.Key!, b.Key!) || b.LastModified!.getTime() - a.LastModified!.getTime());
  return all.map((v): Row => [v.Key!, v.VersionId!, v.IsLatest === true, v.marker]);
}

describe('S3 bucket versioning', { timeout: 180_000 }, () => {
  before(async () => {
    gw = await startGateway();
    s3 = gw.client();
  });

  after(async () => {
    await gw?.close();
  });

  describe('versioning configuration', () => {
    const bucket = 'vcfg';
    const status = async () => (await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status;
    /** PutBucketVersioning with any document (the SDK only builds valid ones). */
    const putRaw = (inner: string) => {
      const body = `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</VersioningConfiguration>`;
      const headers = { 'content-md5': md5(body, 'base64'), 'content-type': 'application/xml' };
      return gw.signed({ method: 'PUT', path: `/${bucket}?versioning`, headers, body });
    };

    before(() => createBucket(bucket));

    it('a new bucket has no Status', async () => {
      assert.equal(await status(), undefined);
      const raw = await gw.signed({ method: 'GET', path: `/${bucket}?versioning` });
      assert.equal(raw.status, 200);
      assert.match(raw.text, /<VersioningConfiguration[^>]*?(\/>|>\s*<\/VersioningConfiguration>)/);
      assert.doesNotMatch(raw.text, /<Status>/);
    });

    it('Enabled and Suspended round-trip through GetBucketVersioning, either way', async () => {
      for (const next of ['Enabled', 'Suspended', 'Enabled', 'Suspended'] as const) {
        await setVersioning(bucket, next);
        assert.equal(await status(), next);
      }
    });

    it('refuses any other Status with 400 MalformedXML: there is no way back to unversioned', async () => {
      for (const inner of ['Disabled', 'enabled', ''].map((v) => `<Status>${v}</Status>`).concat('')) {
        const res = await putRaw(inner);
        assert.equal(res.status, 400, `${inner}: ${res.text}`);
        assert.equal(parseErrorXml(res.text).Code, 'MalformedXML', inner);
        assert.equal(await status(), 'Suspended', `unchanged after ${inner}`);
      }
      const ok = await putRaw('<Status>Enabled</Status>');
      assert.equal(ok.status, 200, ok.text);
      assert.equal(await status(), 'Enabled', 'the raw document itself is accepted when valid');
    });

    it('answers NoSuchBucket for a bucket that does not exist', async () => {
      const VersioningConfiguration = { Status: 'Enabled' as const };
      const put = s3.send(new PutBucketVersioningCommand({ Bucket: 'vcfg-absent', VersioningConfiguration }));
      assert.deepEqual(await s3Failure(put), { code: 'NoSuchBucket', status: 404 });
      const get = s3.send(new GetBucketVersioningCommand({ Bucket: 'vcfg-absent' }));
      assert.deepEqual(await s3Failure(get), { code: 'NoSuchBucket', status: 404 });
    });
  });

  describe('writes in an Enabled bucket', () => {
    const bucket = 'vwrite';
    const [one, two] = ['first body', 'second body, longer'];
    let v1: string;
    let v2: string;

    before(() => createBucket(bucket, 'Enabled'));

    it('gives every PUT its own version id and serves each version by id (GET and HEAD)', async () => {
      v1 = await putVersion(bucket, 'doc', one);
      v2 = await putVersion(bucket, 'doc', two);
      assert.notEqual(v1, v2);
      assert.deepEqual(await read(bucket, 'doc'), seen(two, v2));
      for (const [id, body] of [
        [v1, one],
        [v2, two],
      ]) {
        assert.deepEqual(await read(bucket, 'doc', id), seen(body, id));
        assert.deepEqual(await headOf(bucket, 'doc', id), [id, seen(body, id).etag, body.length]);
      }
    });

    it('CopyObject names the new version and the source version it copied', async () => {
      const copy = (CopySource: string) =>
        s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy', CopySource }));
      const old = await copy(`${bucket}/doc?versionId=${v1}`);
      assert.match(old.VersionId ?? '', UUID_RE);
      assert.equal(old.CopySourceVersionId, v1);
      const latest = await copy(`${bucket}/doc`);
      assert.equal(latest.CopySourceVersionId, v2, 'the latest version is named too');
      assert.match(latest.VersionId ?? '', UUID_RE);
      assert.notEqual(latest.VersionId, old.VersionId);
      assert.deepEqual(await read(bucket, 'copy', old.VersionId), seen(one, old.VersionId));
      assert.deepEqual(await read(bucket, 'copy'), seen(two, latest.VersionId));
    });

    it('copying an older version onto its own key restores it as a new latest version', async () => {
      const restored = await s3.send(
        new CopyObjectCommand({ Bucket: bucket, Key: 'doc', CopySource: `${bucket}/doc?versionId=${v1}` }),
      );
      assert.equal(restored.CopySourceVersionId, v1);
      assert.match(restored.VersionId ?? '', UUID_RE);
      assert.ok(![v1, v2].includes(restored.VersionId!));
      assert.deepEqual(await read(bucket, 'doc'), seen(one, restored.VersionId));
      assert.deepEqual(await read(bucket, 'doc', v2), seen(two, v2));
    });

    it('CompleteMultipartUpload names the new version', async () => {
      const mp = { Bucket: bucket, Key: 'mp' };
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand(mp));
      const Parts = [];
      for (const [i, Body] of [Buffer.alloc(5 * MiB, 'a'), Buffer.from('tail')].entries()) {
        const up = await s3.send(new UploadPartCommand({ ...mp, UploadId, PartNumber: i + 1, Body }));
        Parts.push({ PartNumber: i + 1, ETag: up.ETag });
      }
      const done = await s3.send(
        new CompleteMultipartUploadCommand({ ...mp, UploadId, MultipartUpload: { Parts } }),
      );
      assert.match(done.VersionId ?? '', UUID_RE);
      assert.match(done.ETag ?? '', /-2"$/);
      assert.deepEqual(await headOf(bucket, 'mp', done.VersionId), [done.VersionId, done.ETag, 5 * MiB + 4]);
    });
  });

  describe('delete markers and deleting versions', () => {
    const bucket = 'vdel';
    const body = 'the only body';
    let v1: string;
    let marker: string;
    const listedKeys = async () =>
      (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((o) => o.Key);

    before(() => createBucket(bucket, 'Enabled'));

    it('DeleteObject without a version id adds a delete marker', async () => {
      v1 = await putVersion(bucket, 'gone', body);
      await putVersion(bucket, 'stays', 'x');
      const out = await del(bucket, 'gone');
      assert.equal(out.deleteMarker, true);
      assert.match(out.versionId ?? '', UUID_RE);
      assert.notEqual(out.versionId, v1);
      marker = out.versionId!;
    });

    it('then GET is 404 NoSuchKey and HEAD 404, both with x-amz-delete-marker', async () => {
      const get = await getFailure(bucket, 'gone');
      assert.deepEqual([get.code, get.status], ['NoSuchKey', 404]);
      const head = await failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'gone' })));
      assert.equal(head.status, 404);
      for (const res of [get, head]) {
        assert.equal(res.headers['x-amz-delete-marker'], 'true');
        assert.equal(res.headers['x-amz-version-id'], marker);
      }
    });

    it('GET and HEAD of the marker by version id are 405 MethodNotAllowed with x-amz-delete-marker', async () => {
      const input = { Bucket: bucket, Key: 'gone', VersionId: marker };
      const get = await failure(s3.send(new GetObjectCommand(input)));
      assert.deepEqual([get.code, get.status], ['MethodNotAllowed', 405]);
      const head = await failure(s3.send(new HeadObjectCommand(input)));
      assert.equal(head.status, 405);
      for (const res of [get, head]) {
        assert.equal(res.headers['x-amz-delete-marker'], 'true');
        assert.ok(res.headers['last-modified'], 'Last-Modified of the marker');
      }
      assert.deepEqual(await read(bucket, 'gone', v1), seen(body, v1), 'the version under it is kept');
    });

    it('ListObjectsV2 no longer lists the key', async () => {
      assert.deepEqual(await listedKeys(), ['stays']);
    });

    it('deleting the marker by its version id makes the key readable again', async () => {
      assert.deepEqual(await del(bucket, 'gone', marker), { deleteMarker: true, versionId: marker });
      assert.deepEqual(await read(bucket, 'gone'), seen(body, v1));
      assert.deepEqual(await listedKeys(), ['gone', 'stays']);
    });

    it('deleting the latest version by id makes the previous one current', async () => {
      const a = await putVersion(bucket, 'stack', 'a');
      const b = await putVersion(bucket, 'stack', 'b');
      const c = await putVersion(bucket, 'stack', 'c');
      const out = await del(bucket, 'stack', c);
      assert.equal(out.versionId, c);
      assert.notEqual(out.deleteMarker, true);
      assert.deepEqual(await read(bucket, 'stack'), seen('b', b));
      assert.deepEqual(await sdkVersions({ Bucket: bucket, Prefix: 'stack' }), [
        ['stack', b, true, false],
        ['stack', a, false, false],
      ]);
      const gone = await getFailure(bucket, 'stack', c);
      assert.deepEqual([gone.code, gone.status], ['NoSuchVersion', 404]);
    });

    // Fails against the current server (see the report): it omits x-amz-version-id here.
    it('deleting a version that does not exist succeeds and names that version, as AWS does', async () => {
      const out = await del(bucket, 'gone', UNKNOWN_ID);
      assert.deepEqual(out, { deleteMarker: undefined, versionId: UNKNOWN_ID });
      assert.deepEqual(await read(bucket, 'gone'), seen(body, v1));
    });

    it('deleting a key that does not exist still adds a delete marker', async () => {
      const out = await del(bucket, 'never-written');
      assert.equal(out.deleteMarker, true);
      assert.match(out.versionId ?? '', UUID_RE);
      const listed = await sdkVersions({ Bucket: bucket, Prefix: 'never-written' });
      assert.deepEqual(listed, [['never-written', out.versionId, true, true]]);
    });
  });

  describe('a Suspended bucket', () => {
    const bucket = 'vsusp';
    let v1: string;
    const rowsOfK = async () => (await rawVersions(bucket, { prefix: 'k' })).rows;
    /** The null version (or null marker) on top of v1: all a Suspended bucket may list for 'k'. */
    const nullOverV1 = (marker: boolean): Row[] => [
      ['k', 'null', true, marker],
      ['k', v1, false, false],
    ];

    before(async () => {
      await createBucket(bucket, 'Enabled');
      v1 = await putVersion(bucket, 'k', 'v1');
      await setVersioning(bucket, 'Suspended');
    });

    it('PUT writes the null version, and a second PUT replaces it', async () => {
      assert.ok([undefined, 'null'].includes(await put(bucket, 'k', 'null one')));
      assert.ok([undefined, 'null'].includes(await put(bucket, 'k', 'null two')));
      assert.deepEqual(await rowsOfK(), nullOverV1(false));
      assert.deepEqual(await sdkVersions({ Bucket: bucket, Prefix: 'k' }), nullOverV1(false));
      assert.equal((await read(bucket, 'k')).body, 'null two');
      assert.equal((await read(bucket, 'k', 'null')).body, 'null two');
      assert.deepEqual(await read(bucket, 'k', v1), seen('v1', v1));
    });

    it('DELETE adds a null delete marker that replaces the null version', async () => {
      assert.deepEqual(await del(bucket, 'k'), { deleteMarker: true, versionId: 'null' });
      assert.deepEqual(await rowsOfK(), nullOverV1(true));
      const get = await getFailure(bucket, 'k');
      assert.deepEqual(
        [get.code, get.status, get.headers['x-amz-delete-marker']],
        ['NoSuchKey', 404, 'true'],
      );
      assert.deepEqual(await read(bucket, 'k', v1), seen('v1', v1));
    });

    it('the next PUT replaces the null delete marker with a null version', async () => {
      await put(bucket, 'k', 'null three');
      assert.deepEqual(await rowsOfK(), nullOverV1(false));
      assert.equal((await read(bucket, 'k')).body, 'null three');
    });

    it('a null version older than the versioned ones is replaced by a Suspended PUT, which is latest', async () => {
      await createBucket('vsusp-old');
      assert.equal(await put('vsusp-old', 'k', 'unversioned'), undefined);
      await setVersioning('vsusp-old', 'Enabled');
      const v = await putVersion('vsusp-old', 'k', 'versioned');
      assert.equal((await read('vsusp-old', 'k', 'null')).body, 'unversioned', 'the old null version stays');
      await setVersioning('vsusp-old', 'Suspended');
      await put('vsusp-old', 'k', 'suspended');
      assert.deepEqual((await rawVersions('vsusp-old')).rows, [
        ['k', 'null', true, false],
        ['k', v, false, false],
      ]);
      assert.equal((await read('vsusp-old', 'k')).body, 'suspended');
    });
  });

  describe('an unversioned bucket', () => {
    const bucket = 'vnone';

    before(() => createBucket(bucket));

    it('has only null versions, and DELETE removes the object without a marker', async () => {
      assert.equal(await put(bucket, 'plain', 'body'), undefined);
      assert.deepEqual(await sdkVersions({ Bucket: bucket }), [['plain', 'null', true, false]]);
      assert.equal((await read(bucket, 'plain', 'null')).body, 'body');
      assert.notEqual((await del(bucket, 'plain')).deleteMarker, true);
      const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
      assert.deepEqual([listed.Versions, listed.DeleteMarkers], [undefined, undefined]);
      const get = await getFailure(bucket, 'plain');
      assert.deepEqual(
        [get.code, get.status, get.headers['x-amz-delete-marker']],
        ['NoSuchKey', 404, undefined],
      );
    });
  });

  describe('ListObjectVersions', () => {
    const bucket = 'vlist';
    const odd = 'a b/ü+c';
    /** What was written: each key's [versionId, marker] newest first, and each version's body. */
    const model = new Map<string, [string, boolean][]>();
    const bodies = new Map<string, string>();
    const record = (key: string, versionId: string, marker: boolean) =>
      model.set(key, [[versionId, marker], ...(model.get(key) ?? [])]);
    const write = async (key: string) => {
      const body = `${key} #${bodies.size}`;
      const id = await putVersion(bucket, key, body);
      bodies.set(id, body);
      record(key, id, false);
    };
    const remove = async (key: string) => {
      const out = await del(bucket, key);
      assert.equal(out.deleteMarker, true);
      record(key, out.versionId!, true);
    };
    /** The listing the model predicts: keys in byte order, each key's versions newest first. */
    const predicted = (keep: (key: string) => boolean = () => true): Row[] =>
      [...model.keys()]
        .filter(keep)
        .sort(byteOrder)
        .flatMap((key) => model.get(key)!.map(([id, marker], i): Row => [key, id, i === 0, marker]));

    const under = (prefix: string) => (key: string) => key.startsWith(prefix);
    const flat = (key: string) => !key.includes('/');
    const from = (marker: string) => (key: string) => byteOrder(key, marker) >= 0;

    before(async () => {
      await createBucket(bucket, 'Enabled');
      // Markers between versions of one key, keys whose latest is a marker, a key that sorts before 'a/'.
      for (const key of ['a/1', '-a/1', 'a/1', 'a/2', 'b/x', 'b/x', '-c', 'd', '-d', odd, 'a/1']) {
        await (key.startsWith('-') ? remove(key.slice(1)) : write(key));
      }
    });

    it('lists every version and marker, keys in byte order, each key newest first, interleaved', async () => {
      const raw = await rawVersions(bucket);
      assert.deepEqual(raw.rows, predicted());
      assert.deepEqual([raw.truncated, raw.nextKeyMarker], [false, undefined]);
      // The SDK splits Versions from DeleteMarkers; ordered by LastModified they give the same sequence.
      assert.deepEqual(await sdkVersions({ Bucket: bucket }), predicted());
    });

    it('filters by prefix and rolls keys up into CommonPrefixes by delimiter', async () => {
      assert.deepEqual((await rawVersions(bucket, { prefix: 'a/' })).rows, predicted(under('a/')));
      const rolled = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Delimiter: '/' }));
      assert.deepEqual(
        rolled.CommonPrefixes?.map((p) => p.Prefix),
        ['a b/', 'a/', 'b/'],
      );
      const top = await rawVersions(bucket, { delimiter: '/' });
      assert.deepEqual(top.rows, predicted(flat));
      const inner = await rawVersions(bucket, { prefix: 'b/', delimiter: '/' });
      assert.deepEqual([inner.rows, inner.prefixes], [predicted(under('b/')), []]);
    });

    for (const maxKeys of [1, 2, 3]) {
      it(`pages by key-marker and version-id-marker with max-keys ${maxKeys}: no repeats, no gaps`, async () => {
        const all = predicted();
        const walked: Row[] = [];
        let markers: Record<string, string | undefined> = {};
        let pages = 0;
        for (;;) {
          const page = await rawVersions(bucket, { 'max-keys': String(maxKeys), ...markers });
          assert.ok(page.rows.length <= maxKeys && page.rows.length > 0 && ++pages < 50, page.text);
          walked.push(...page.rows);
          if (!page.truncated) break;
          const last = page.rows[page.rows.length - 1];
          assert.deepEqual([page.nextKeyMarker, page.nextVersionIdMarker], [last[0], last[1]]);
          markers = { 'key-marker': page.nextKeyMarker, 'version-id-marker': page.nextVersionIdMarker };
        }
        assert.deepEqual(walked, all);
        assert.equal(pages, Math.ceil(all.length / maxKeys));
        // The same walk through the SDK and its markers.
        const ids: string[] = [];
        let input: ListObjectVersionsCommandInput = { Bucket: bucket, MaxKeys: maxKeys };
        for (let n = 0; n < 50; n++) {
          const out = await s3.send(new ListObjectVersionsCommand(input));
          for (const v of [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])])
            ids.push(`${v.Key}@${v.VersionId}`);
          if (!out.IsTruncated) break;
          input = { ...input, KeyMarker: out.NextKeyMarker, VersionIdMarker: out.NextVersionIdMarker };
        }
        assert.deepEqual(ids.sort(), all.map(([key, id]) => `${key}@${id}`).sort());
      });
    }

    it('pages through CommonPrefixes with a delimiter, each prefix once', async () => {
      const prefixes: string[] = [];
      const rows: Row[] = [];
      let markers: Record<string, string | undefined> = {};
      for (let n = 0; n < 50; n++) {
        const page = await rawVersions(bucket, { delimiter: '/', 'max-keys': '1', ...markers });
        assert.equal(page.rows.length + page.prefixes.length, 1, page.text);
        prefixes.push(...page.prefixes);
        rows.push(...page.rows);
        if (!page.truncated) break;
        markers = { 'key-marker': page.nextKeyMarker, 'version-id-marker': page.nextVersionIdMarker };
      }
      assert.deepEqual(prefixes, ['a b/', 'a/', 'b/']);
      assert.deepEqual(rows, predicted(flat));
    });

    it('starts after key-marker alone, and within a key after version-id-marker', async () => {
      const afterKey = await rawVersions(bucket, { 'key-marker': 'a/1' });
      assert.deepEqual(afterKey.rows, predicted(from('a/2')), 'a/2 is the next key');
      const [[newest]] = model.get('a/1')!;
      const within = await rawVersions(bucket, { 'key-marker': 'a/1', 'version-id-marker': newest });
      assert.deepEqual(within.rows, predicted(from('a/1')).slice(1));
    });

    it('url-encodes keys with encoding-type=url; without it the SDK round-trips the key as is', async () => {
      const raw = await rawVersions(bucket, { prefix: 'a b/', 'encoding-type': 'url' });
      assert.match(raw.text, /<EncodingType>url<\/EncodingType>/);
      assert.equal(raw.rows.length, 1);
      const wire = raw.rows[0][0];
      assert.match(wire, /^[\x21-\x7e]+$/, `no space or raw UTF-8 on the wire: ${wire}`);
      const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, '%20'));
      assert.equal(decode(wire), odd);
      assert.equal(decode(tag(raw.text, 'Prefix') ?? ''), 'a b/');
      // @aws-sdk/client-s3 does not decode EncodingType=url answers: the caller gets the wire form.
      const encoded = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, EncodingType: 'url' }));
      assert.ok(encoded.Versions?.some((v) => v.Key === wire));
      const [[id]] = model.get(odd)!;
      assert.deepEqual(await sdkVersions({ Bucket: bucket, Prefix: 'a b/' }), [[odd, id, true, false]]);
      assert.deepEqual(await read(bucket, odd, id), seen(bodies.get(id)!, id));
    });

    it('refuses version-id-marker without key-marker (400 InvalidArgument)', async () => {
      const list = s3.send(new ListObjectVersionsCommand({ Bucket: bucket, VersionIdMarker: UNKNOWN_ID }));
      assert.deepEqual(await s3Failure(list), { code: 'InvalidArgument', status: 400 });
    });

    // Fails against the current server (see the report): it ignores the marker and answers 200.
    it('refuses a malformed version-id-marker (400 InvalidArgument), as AWS does', async () => {
      const list = s3.send(
        new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: 'a/1', VersionIdMarker: 'abc' }),
      );
      assert.deepEqual(await s3Failure(list), { code: 'InvalidArgument', status: 400 });
    });

    it('answers 400 InvalidArgument for a malformed version id, 404 NoSuchVersion for an unknown one', async () => {
      for (const [id, code, status] of [
        ['abc', 'InvalidArgument', 400],
        [UNKNOWN_ID, 'NoSuchVersion', 404],
        ['null', 'NoSuchVersion', 404],
      ]) {
        const got = await getFailure(bucket, 'd', String(id));
        assert.deepEqual([got.code, got.status], [code, status], String(id));
      }
      const head = s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'd', VersionId: 'abc' }));
      assert.equal((await s3Failure(head)).status, 400);
    });
  });

  describe('object tagging by version id', () => {
    const bucket = 'vtag';
    const t = { Bucket: bucket, Key: 't' };
    const putTags = (VersionId: string | undefined, Key: string, Value: string) =>
      s3.send(new PutObjectTaggingCommand({ ...t, VersionId, Tagging: { TagSet: [{ Key, Value }] } }));
    const tagsOf = async (VersionId?: string) => {
      const out = await s3.send(new GetObjectTaggingCommand({ ...t, VersionId }));
      return { versionId: out.VersionId, tags: (out.TagSet ?? []).map((t) => `${t.Key}=${t.Value}`) };
    };

    before(() => createBucket(bucket, 'Enabled'));

    it('PutObjectTagging on an older version changes only that version', async () => {
      const old = await putVersion(bucket, 't', 'old');
      const cur = await putVersion(bucket, 't', 'current');
      assert.equal((await putTags(old, 'age', 'old')).VersionId, old);
      assert.deepEqual(await tagsOf(old), { versionId: old, tags: ['age=old'] });
      assert.deepEqual(await tagsOf(cur), { versionId: cur, tags: [] });
      assert.deepEqual(await tagsOf(), { versionId: cur, tags: [] });
      assert.equal((await putTags(undefined, 'age', 'new')).VersionId, cur);
      assert.deepEqual(await tagsOf(old), { versionId: old, tags: ['age=old'] });
      const { versionId: marker } = await del(bucket, 't');
      assert.deepEqual(await s3Failure(putTags(marker, 'x', 'y')), { code: 'MethodNotAllowed', status: 405 });
    });
  });

  describe('DeleteObjects with version ids', () => {
    const bucket = 'vmulti';
    const deleteObjects = (Objects: { Key: string; VersionId?: string }[]) =>
      s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects } }));

    before(() => createBucket(bucket, 'Enabled'));

    it('deletes versions for good, adds markers for bare keys, and removes markers by id', async () => {
      const a1 = await putVersion(bucket, 'a', 'a1');
      const a2 = await putVersion(bucket, 'a', 'a2');
      const b1 = await putVersion(bucket, 'b', 'b1');
      const first = await deleteObjects([{ Key: 'a', VersionId: a2 }, { Key: 'b' }, { Key: 'none' }]);
      assert.equal(first.Errors, undefined);
      const byKey = new Map((first.Deleted ?? []).map((d) => [d.Key, d]));
      assert.deepEqual([byKey.size, byKey.get('a')?.VersionId], [3, a2]);
      assert.notEqual(byKey.get('a')?.DeleteMarker, true);
      for (const key of ['b', 'none']) {
        assert.equal(byKey.get(key)?.DeleteMarker, true, key);
        assert.match(byKey.get(key)?.DeleteMarkerVersionId ?? '', UUID_RE, key);
      }
      const markerB = byKey.get('b')!.DeleteMarkerVersionId!;
      assert.deepEqual(await read(bucket, 'a'), seen('a1', a1));
      assert.deepEqual((await rawVersions(bucket)).rows, [
        ['a', a1, true, false],
        ['b', markerB, true, true],
        ['b', b1, false, false],
        ['none', byKey.get('none')!.DeleteMarkerVersionId!, true, true],
      ]);
      const second = await deleteObjects([{ Key: 'b', VersionId: markerB }]);
      assert.equal(second.Errors, undefined);
      assert.deepEqual(
        second.Deleted?.map((d) => [d.Key, d.VersionId, d.DeleteMarker]),
        [['b', markerB, true]],
      );
      assert.deepEqual(await read(bucket, 'b'), seen('b1', b1));
    });
  });
});
