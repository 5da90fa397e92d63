/**
 * End to end: Put/Get/DeleteBucketLifecycleConfiguration through the real gateway on temp drives, driven by
 * @aws-sdk/client-s3 (which sends the x-amz-checksum this operation requires) and by raw signed requests where the
 * SDK cannot express the case. Proves: GET without a configuration is NoSuchLifecycleConfiguration; a configuration
 * with every element comes back as sent; each validation error code reaches the SDK with status 400; transitions
 * are refused while no tier registry exists, and accepted (and round-tripped) by a gateway that knows the tiers;
 * the configuration survives a restart on the same drives, and DeleteBucket removes it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketLifecycleCommand,
  GetBucketLifecycleConfigurationCommand,
  type LifecycleRule,
  PutBucketLifecycleConfigurationCommand,
  S3Client,
  type TransitionStorageClass,
} from '@aws-sdk/client-s3';
import { S3Gateway } from '../../src/s3/s3-gateway';
import { openObjectLayer, type ErasurePool } from '../../src/storage/pool';
import { parseErrorXml, s3Failure, startGateway, type TestGateway } from './harness';

const tier = (name: string) => name as TransitionStorageClass;

/** A configuration with every element AWS defines except transitions (no tiers exist in the plain gateway). */
const EVERY_ELEMENT: LifecycleRule[] = [
  { ID: 'legacy', Prefix: 'old/', Status: 'Disabled', Expiration: { Days: 30 } },
  { ID: 'all', Filter: {}, Status: 'Enabled', Expiration: { ExpiredObjectDeleteMarker: true } },
  {
    ID: 'prefix',
    Filter: { Prefix: 'logs/' },
    Status: 'Enabled',
    Expiration: { Date: new Date('2031-01-01T00:00:00Z') },
  },
  {
    ID: 'tag',
    Filter: { Tag: { Key: 'class', Value: 'tmp' } },
    Status: 'Enabled',
    NoncurrentVersionExpiration: { NoncurrentDays: 7, NewerNoncurrentVersions: 3 },
  },
  { ID: 'gt', Filter: { ObjectSizeGreaterThan: 1024 }, Status: 'Enabled', Expiration: { Days: 2 } },
  {
    ID: 'lt',
    Filter: { ObjectSizeLessThan: 4096 },
    Status: 'Enabled',
    NoncurrentVersionExpiration: { NoncurrentDays: 1 },
  },
  {
    ID: 'and',
    Filter: {
      And: {
        Prefix: 'data/',
        Tags: [
          { Key: 'a', Value: '1' },
          { Key: 'b', Value: '2' },
        ],
        ObjectSizeGreaterThan: 10,
        ObjectSizeLessThan: 20,
      },
    },
    Status: 'Enabled',
    Expiration: { Days: 5 },
    NoncurrentVersionExpiration: { NoncurrentDays: 3 },
  },
  {
    ID: 'abort',
    Filter: { Prefix: 'uploads/' },
    Status: 'Enabled',
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
  },
];

const md5 = (data: string) => createHash('md5').update(data).digest('base64');

describe('bucket lifecycle configuration', { timeout: 120_000 }, () => {
  let gw: TestGateway;
  let s3: S3Client;
  const put = (
    Bucket: string,
    Rules: LifecycleRule[],
    extra: { TransitionDefaultMinimumObjectSize?: 'varies_by_storage_class' } = {},
  ) =>
    s3.send(
      new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules }, ...extra }),
    );
  const get = (Bucket: string) => s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }));

  before(async () => {
    gw = await startGateway();
    s3 = gw.client();
    for (const b of ['lifecycle', 'errors', 'restart', 'dropped'])
      await s3.send(new CreateBucketCommand({ Bucket: b }));
  });
  after(async () => gw?.close());

  it('answers NoSuchLifecycleConfiguration (404) while the bucket has none', async () => {
    assert.deepEqual(await s3Failure(get('lifecycle')), {
      code: 'NoSuchLifecycleConfiguration',
      status: 404,
    });
    const raw = await gw.signed({ method: 'GET', path: '/lifecycle?lifecycle' });
    assert.equal(raw.status, 404);
    assert.match(raw.text, /<BucketName>lifecycle<\/BucketName>/);
  });

  it('stores a configuration with every element and returns it as sent', async () => {
    const out = await put('lifecycle', EVERY_ELEMENT);
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.equal(out.TransitionDefaultMinimumObjectSize, 'all_storage_classes_128K');
    const got = await get('lifecycle');
    assert.deepEqual(got.Rules, EVERY_ELEMENT);
    assert.equal(got.TransitionDefaultMinimumObjectSize, 'all_storage_classes_128K');
  });

  it('replaces the configuration on a second PUT and keeps the minimum-size mode sent', async () => {
    const rules: LifecycleRule[] = [
      { ID: 'only', Filter: { Prefix: '' }, Status: 'Enabled', Expiration: { Days: 1 } },
    ];
    await put('lifecycle', rules, { TransitionDefaultMinimumObjectSize: 'varies_by_storage_class' });
    const got = await get('lifecycle');
    assert.deepEqual(got.Rules, rules);
    assert.equal(got.TransitionDefaultMinimumObjectSize, 'varies_by_storage_class');
  });

  it('names rules sent without an ID, and keeps the name', async () => {
    await put('lifecycle', [{ Filter: { Prefix: 'x/' }, Status: 'Enabled', Expiration: { Days: 1 } }]);
    const first = (await get('lifecycle')).Rules?.[0].ID;
    assert.ok(first && first.length > 0 && first.length <= 255, String(first));
    assert.equal((await get('lifecycle')).Rules?.[0].ID, first);
  });

  it('DeleteBucketLifecycle answers 204, with or without a configuration', async () => {
    const out = await s3.send(new DeleteBucketLifecycleCommand({ Bucket: 'lifecycle' }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    assert.deepEqual(await s3Failure(get('lifecycle')), {
      code: 'NoSuchLifecycleConfiguration',
      status: 404,
    });
    const again = await s3.send(new DeleteBucketLifecycleCommand({ Bucket: 'lifecycle' }));
    assert.equal(again.$metadata.httpStatusCode, 204);
  });

  it('answers NoSuchBucket for a bucket that does not exist', async () => {
    const rules: LifecycleRule[] = [{ ID: 'r', Filter: {}, Status: 'Enabled', Expiration: { Days: 1 } }];
    assert.deepEqual(await s3Failure(put('nosuchbucket', rules)), { code: 'NoSuchBucket', status: 404 });
    assert.deepEqual(await s3Failure(get('nosuchbucket')), { code: 'NoSuchBucket', status: 404 });
    assert.deepEqual(await s3Failure(s3.send(new DeleteBucketLifecycleCommand({ Bucket: 'nosuchbucket' }))), {
      code: 'NoSuchBucket',
      status: 404,
    });
  });

  describe('validation errors through the SDK', () => {
    const base = { ID: 'r', Filter: { Prefix: 'a/' }, Status: 'Enabled' as const };
    const table: [string, LifecycleRule[], string][] = [
      ['an empty Expiration', [{ ...base, Expiration: {} }], 'MalformedXML'],
      [
        'Expiration Days with ExpiredObjectDeleteMarker',
        [{ ...base, Expiration: { Days: 1, ExpiredObjectDeleteMarker: true } }],
        'MalformedXML',
      ],
      [
        'an And with one predicate',
        [{ ...base, Filter: { And: { Prefix: 'a/' } }, Expiration: { Days: 1 } }],
        'MalformedXML',
      ],
      [
        'a rule without Filter or Prefix',
        [{ ID: 'r', Status: 'Enabled', Expiration: { Days: 1 } }],
        'MalformedXML',
      ],
      ['Expiration Days 0', [{ ...base, Expiration: { Days: 0 } }], 'InvalidArgument'],
      [
        'a Date not at midnight',
        [{ ...base, Expiration: { Date: new Date('2031-01-01T12:00:00Z') } }],
        'InvalidArgument',
      ],
      [
        'an ID of 256 characters',
        [{ ...base, ID: 'x'.repeat(256), Expiration: { Days: 1 } }],
        'InvalidArgument',
      ],
      [
        'two rules with one ID',
        [
          { ...base, Expiration: { Days: 1 } },
          { ...base, Expiration: { Days: 2 } },
        ],
        'InvalidArgument',
      ],
      [
        'NewerNoncurrentVersions 101',
        [{ ...base, NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 101 } }],
        'InvalidArgument',
      ],
      ['a rule without an action', [{ ...base }], 'InvalidRequest'],
      [
        'AbortIncompleteMultipartUpload with a tag filter',
        [
          {
            ...base,
            Filter: { Tag: { Key: 'k', Value: 'v' } },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          },
        ],
        'InvalidRequest',
      ],
      [
        'ExpiredObjectDeleteMarker with a tag filter',
        [
          {
            ...base,
            Filter: { Tag: { Key: 'k', Value: 'v' } },
            Expiration: { ExpiredObjectDeleteMarker: true },
          },
        ],
        'InvalidRequest',
      ],
      [
        'a prefix of 1025 characters',
        [{ ...base, Filter: { Prefix: 'p'.repeat(1025) }, Expiration: { Days: 1 } }],
        'InvalidRequest',
      ],
      [
        'a Transition while no tier exists',
        [{ ...base, Transitions: [{ Days: 30, StorageClass: 'GLACIER' }] }],
        'InvalidStorageClass',
      ],
      [
        'a NoncurrentVersionTransition while no tier exists',
        [{ ...base, NoncurrentVersionTransitions: [{ NoncurrentDays: 30, StorageClass: tier('COLD') }] }],
        'InvalidStorageClass',
      ],
    ];
    for (const [name, rules, code] of table) {
      it(`${name} -> ${code}`, async () => {
        assert.deepEqual(await s3Failure(put('errors', rules)), { code, status: 400 });
      });
    }

    it('1001 rules -> MalformedXML', async () => {
      const rules = Array.from({ length: 1001 }, (_, i) => ({
        ...base,
        ID: `r${i}`,
        Expiration: { Days: 1 },
      }));
      assert.deepEqual(await s3Failure(put('errors', rules)), { code: 'MalformedXML', status: 400 });
    });

    it('nothing is stored by a refused PUT', async () => {
      assert.deepEqual(await s3Failure(get('errors')), { code: 'NoSuchLifecycleConfiguration', status: 404 });
    });
  });

  describe('raw requests', () => {
    const body =
      '<LifecycleConfiguration><Rule><ID>r</ID><Filter/><Status>Enabled</Status>' +
      '<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>';

    it('refuses a PUT without Content-MD5 or an x-amz-checksum (InvalidRequest), as AWS does', async () => {
      const res = await gw.signed({ method: 'PUT', path: '/errors?lifecycle', body });
      assert.equal(res.status, 400);
      assert.equal(parseErrorXml(res.text).Code, 'InvalidRequest');
      assert.match(parseErrorXml(res.text).Message ?? '', /Content-MD5/);
    });

    it('accepts Content-MD5 and checks it (BadDigest on mismatch)', async () => {
      const bad = await gw.signed({
        method: 'PUT',
        path: '/errors?lifecycle',
        body,
        headers: { 'content-md5': md5('other') },
      });
      assert.equal(parseErrorXml(bad.text).Code, 'BadDigest');
      const ok = await gw.signed({
        method: 'PUT',
        path: '/errors?lifecycle',
        body,
        headers: { 'content-md5': md5(body) },
      });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['x-amz-transition-default-minimum-object-size'], 'all_storage_classes_128K');
      const got = await gw.signed({ method: 'GET', path: '/errors?lifecycle' });
      assert.equal(got.status, 200);
      assert.match(
        got.text,
        /^<\?xml version="1.0" encoding="UTF-8"\?><LifecycleConfiguration xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/"><Rule><ID>r<\/ID><Filter><\/Filter><Status>Enabled<\/Status><Expiration><Days>1<\/Days><\/Expiration><\/Rule><\/LifecycleConfiguration>$/,
      );
      await s3.send(new DeleteBucketLifecycleCommand({ Bucket: 'errors' }));
    });

    it('refuses a body that is not XML, and an unknown minimum-size mode', async () => {
      const junk = 'not xml';
      const res = await gw.signed({
        method: 'PUT',
        path: '/errors?lifecycle',
        body: junk,
        headers: { 'content-md5': md5(junk) },
      });
      assert.equal(parseErrorXml(res.text).Code, 'MalformedXML');
      const mode = await gw.signed({
        method: 'PUT',
        path: '/errors?lifecycle',
        body,
        headers: { 'content-md5': md5(body), 'x-amz-transition-default-minimum-object-size': 'tiny' },
      });
      assert.equal(parseErrorXml(mode.text).Code, 'InvalidArgument');
    });
  });

  it('DeleteBucket removes the configuration with the bucket', async () => {
    await put('dropped', [{ ID: 'r', Filter: {}, Status: 'Enabled', Expiration: { Days: 1 } }]);
    await s3.send(new DeleteBucketCommand({ Bucket: 'dropped' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'dropped' }));
    assert.deepEqual(await s3Failure(get('dropped')), { code: 'NoSuchLifecycleConfiguration', status: 404 });
  });

  it('keeps the configuration across a restart on the same drives', async () => {
    await put('restart', EVERY_ELEMENT);
    await gw.close({ keepFiles: true });
    gw = await startGateway({ root: gw.root });
    s3 = gw.client();
    assert.deepEqual((await get('restart')).Rules, EVERY_ELEMENT);
  });
});

describe('bucket lifecycle with tiers known to the gateway', { timeout: 60_000 }, () => {
  const USER = 'lifecycleuser';
  const SECRET = 'lifecyclesecret';
  let base: string;
  let pool: ErasurePool;
  let server: Server;
  let s3: S3Client;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'tiergate-lifecycle-'));
    pool = await openObjectLayer({ drives: [1, 2, 3, 4].map((i) => join(base, `d${i}`)), fsync: false });
    const tiers = new Set(['COLD', 'ARCHIVE']);
    const gateway = new S3Gateway(
      pool,
      { region: 'us-east-1', domains: [], isKnownStorageClass: (name) => tiers.has(name) },
      (key) => (key === USER ? SECRET : undefined),
      () => undefined,
    );
    server = createServer((req, res) => void gateway.handle(req, res)).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    s3 = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: USER, secretAccessKey: SECRET },
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'tiered' }));
  });

  after(async () => {
    s3?.destroy();
    server?.closeAllConnections();
    server?.close();
    await pool?.shutdown();
    await rm(base, { recursive: true, force: true });
  });

  it('round-trips Transitions and NoncurrentVersionTransitions to known tiers', async () => {
    const rules: LifecycleRule[] = [
      {
        ID: 'days',
        Filter: { Prefix: 'a/' },
        Status: 'Enabled',
        Transitions: [
          { Days: 0, StorageClass: tier('COLD') },
          { Days: 30, StorageClass: tier('ARCHIVE') },
        ],
        Expiration: { Days: 90 },
        NoncurrentVersionTransitions: [
          { NoncurrentDays: 1, StorageClass: tier('COLD') },
          { NoncurrentDays: 10, StorageClass: tier('ARCHIVE'), NewerNoncurrentVersions: 2 },
        ],
        NoncurrentVersionExpiration: { NoncurrentDays: 20 },
      },
      {
        ID: 'date',
        Filter: { Prefix: 'b/' },
        Status: 'Enabled',
        Transitions: [{ Date: new Date('2031-01-01T00:00:00Z'), StorageClass: tier('COLD') }],
      },
    ];
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: 'tiered',
        LifecycleConfiguration: { Rules: rules },
      }),
    );
    const got = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'tiered' }));
    assert.deepEqual(got.Rules, rules);
  });

  it('still refuses a tier it does not know, and transition rules AWS refuses', async () => {
    const put = (Rules: LifecycleRule[]) =>
      s3.send(
        new PutBucketLifecycleConfigurationCommand({ Bucket: 'tiered', LifecycleConfiguration: { Rules } }),
      );
    const rule = { ID: 'r', Filter: { Prefix: '' }, Status: 'Enabled' as const };
    assert.deepEqual(
      await s3Failure(put([{ ...rule, Transitions: [{ Days: 1, StorageClass: tier('WARM') }] }])),
      {
        code: 'InvalidStorageClass',
        status: 400,
      },
    );
    const twice = [
      { Days: 1, StorageClass: tier('COLD') },
      { Days: 2, StorageClass: tier('COLD') },
    ];
    assert.deepEqual(await s3Failure(put([{ ...rule, Transitions: twice }])), {
      code: 'InvalidRequest',
      status: 400,
    });
    const late = [{ Days: 10, StorageClass: tier('COLD') }];
    assert.deepEqual(await s3Failure(put([{ ...rule, Transitions: late, Expiration: { Days: 10 } }])), {
      code: 'InvalidArgument',
      status: 400,
    });
  });
});
