/**
 * The AWS provider on the wire, against the test KMS: what each call sends (asserted from the server's request
 * log), that the server really verifies SigV4 (requests altered after signing, wrong or unknown credentials), how
 * outages map to retryable errors and are retried by the SDK, and that without static credentials the SDK's default
 * chain is used.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  DescribeKeyCommand,
  EncryptCommand,
  KMSClient,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-kms';
import type { FinalizeRequestMiddleware } from '@smithy/types';
import { AwsKms, type AwsKmsOptions } from '../../src/kms/aws-kms';
import { KmsError } from '../../src/kms/kms-provider';
import { TestKmsServer } from '../fixtures/kms-server';
import { assertNotShown, rejectsWithKmsError } from './kms-contract';

const CONTEXT = { bucket: 'b', key: 'k', version: 'v1' };

describe('AwsKms against the test KMS', () => {
  let server: TestKmsServer;
  let key: { keyId: string; arn: string };
  const open: AwsKms[] = [];
  const connect = (opts: Partial<AwsKmsOptions> = {}) => {
    const kms = new AwsKms({
      keyId: key.arn,
      region: server.region,
      endpoint: server.endpoint,
      credentials: server.credentials,
      ...opts,
    });
    open.push(kms);
    return kms;
  };

  before(async () => {
    server = await TestKmsServer.start({ region: 'ap-southeast-2' });
    key = server.createKey('alias/app');
  });
  after(async () => {
    for (const kms of open) kms.close();
    await server.stop();
  });

  it('sends GenerateDataKey and Decrypt with the key id and the encryption context', async () => {
    const kms = connect({ keyId: 'alias/app' });
    server.requests.length = 0;
    const dataKey = await kms.generateDataKey(CONTEXT);
    assert.equal(dataKey.keyId, key.arn, 'the sealed key is recorded under the ARN the KMS answered');
    await kms.decrypt(dataKey, CONTEXT);
    const [generate, decrypt] = server.requests;
    assert.equal(generate.operation, 'GenerateDataKey');
    assert.deepEqual(generate.body, { KeyId: 'alias/app', KeySpec: 'AES_256', EncryptionContext: CONTEXT });
    assert.equal(generate.accessKeyId, server.credentials.accessKeyId);
    assert.equal(decrypt.operation, 'Decrypt');
    assert.deepEqual(decrypt.body, {
      CiphertextBlob: dataKey.sealed.toString('base64'),
      KeyId: key.arn,
      EncryptionContext: CONTEXT,
    });
    assertNotShown(JSON.stringify(server.requests), dataKey.plaintext);
  });

  it('maps a Decrypt with the key id of another key to InvalidCiphertext (IncorrectKeyException)', async () => {
    const dataKey = await connect().generateDataKey(CONTEXT);
    const other = server.createKey();
    const err = await rejectsWithKmsError(
      connect().decrypt({ ...dataKey, keyId: other.arn }, CONTEXT),
      'InvalidCiphertext',
    );
    assert.match(err.message, /IncorrectKeyException/);
  });

  it('maps a key pending deletion to KeyDisabled and an unknown key to KeyNotFound', async () => {
    const doomed = server.createKey();
    server.scheduleKeyDeletion(doomed.keyId);
    await rejectsWithKmsError(connect({ keyId: doomed.arn }).generateDataKey(CONTEXT), 'KeyDisabled');
    await rejectsWithKmsError(connect({ keyId: 'alias/missing' }).generateDataKey(CONTEXT), 'KeyNotFound');
  });

  it('is refused (AccessDenied) with a wrong secret or an unknown access key', async () => {
    const wrongSecret = { ...server.credentials, secretAccessKey: 'not-the-secret' };
    let err = await rejectsWithKmsError(
      connect({ credentials: wrongSecret }).generateDataKey(CONTEXT),
      'AccessDenied',
    );
    assert.match(err.message, /InvalidSignatureException/);
    const unknown = { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' };
    err = await rejectsWithKmsError(
      connect({ credentials: unknown }).generateDataKey(CONTEXT),
      'AccessDenied',
    );
    assert.match(err.message, /UnrecognizedClientException/);
  });

  it('verifies the signature over the body, the target and the region', async () => {
    const alterations: [string, Middleware][] = [
      ['the body', alter((r) => (r.body = bodyText(r.body).replace('"eA=="', '"eQ=="')))],
      ['the target', alter((r) => (r.headers['x-amz-target'] = 'TrentService.DescribeKey'))],
      ['a signed header removed', alter((r) => delete r.headers['x-amz-date'])],
    ];
    for (const [what, middleware] of alterations) {
      const client = rawClient(server);
      client.middlewareStack.addRelativeTo(middleware, {
        relation: 'after',
        toMiddleware: 'httpSigningMiddleware',
        name: 'alterAfterSigning',
      });
      await assert.rejects(
        client.send(new EncryptCommand({ KeyId: key.arn, Plaintext: Buffer.from('x') })),
        (e: Error) => /Signature|signed header|X-Amz-Date/i.test(`${e.name} ${e.message}`),
        what,
      );
      client.destroy();
    }
    const otherRegion = rawClient(server, 'us-west-2');
    await assert.rejects(
      otherRegion.send(new DescribeKeyCommand({ KeyId: key.arn })),
      /scoped to ap-southeast-2/,
    );
    otherRegion.destroy();
    const ok = rawClient(server);
    const described = await ok.send(new DescribeKeyCommand({ KeyId: 'alias/app' }));
    assert.equal(described.KeyMetadata?.Arn, key.arn);
    ok.destroy();
  });

  for (const mode of ['http-500', 'http-503', 'throttle'] as const) {
    it(`reports ${mode} as Unavailable after the SDK's retries, and recovers`, async () => {
      const kms = connect({ maxAttempts: 2 });
      await server.outage(mode);
      const before = server.requests.length;
      try {
        await rejectsWithKmsError(kms.generateDataKey(CONTEXT), 'Unavailable');
      } finally {
        await server.outage(undefined);
      }
      assert.equal(server.requests.length - before, 2, 'the SDK retried once');
      assert.equal((await kms.generateDataKey(CONTEXT)).plaintext.length, 32);
    });
  }

  it('reports a KMS that accepts but never answers as Unavailable after the request timeout', async () => {
    const kms = connect({ maxAttempts: 1, requestTimeoutMs: 300 });
    await server.outage('hang');
    try {
      const started = Date.now();
      await rejectsWithKmsError(kms.generateDataKey(CONTEXT), 'Unavailable');
      assert.ok(Date.now() - started < 5_000);
    } finally {
      await server.outage(undefined);
    }
  });

  it("uses the SDK's default credential chain when no credentials are given", async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = server.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = server.credentials.secretAccessKey;
    try {
      const kms = connect({ credentials: undefined });
      const before = server.requests.length;
      await kms.generateDataKey(CONTEXT);
      assert.equal(server.requests[before].accessKeyId, server.credentials.accessKeyId);
    } finally {
      restoreEnv('AWS_ACCESS_KEY_ID', saved.id);
      restoreEnv('AWS_SECRET_ACCESS_KEY', saved.secret);
    }
  });

  it('validates the encryption context before calling the KMS', async () => {
    const before = server.requests.length;
    await assert.rejects(
      connect().generateDataKey({ '': 'x' }),
      (e) => e instanceof KmsError && e.code === 'InvalidRequest',
    );
    assert.equal(server.requests.length, before);
  });
});

/** A finalize-step middleware of the KMS client's stack. */
type Middleware = FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes>;

function rawClient(server: TestKmsServer, region = server.region): KMSClient {
  return new KMSClient({
    region,
    endpoint: server.endpoint,
    credentials: server.credentials,
    maxAttempts: 1,
  });
}

/** A middleware that changes the signed HTTP request before it is sent. */
function alter(change: (request: { headers: Record<string, string>; body: unknown }) => void): Middleware {
  return (next) => async (args) => {
    change(args.request as { headers: Record<string, string>; body: unknown });
    return next(args);
  };
}

function bodyText(body: unknown): string {
  return typeof body === 'string' ? body : Buffer.from(body as Uint8Array).toString('utf8');
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
