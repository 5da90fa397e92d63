/**
 * An OSS tier without static keys takes the ECS instance's RAM role from the metadata service (ali-oss has no
 * default chain): here a loopback fake of the metadata service hands out STS credentials that the OSS test server
 * accepts only with their security token. Checks the hardened-mode token is used, the role is discovered, and
 * credentials are reused until close to expiry.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createTierBackend } from '../../src/tiers/create-tier-backend';
import { EcsRamRoleCredentials } from '../../src/tiers/ecs-ram-role-credentials';
import { TierError } from '../../src/tiers/tier-error';
import { startOssServer, type OssServer } from '../fixtures/cloud/oss-server';
import { readAll } from '../fixtures/pattern-bytes';

const ROLE = 'tiergate-ecs-role';
const STS = { ak: 'STS.NUTierGate', secret: 'sts-secret-value', token: 'CAIS-session-token-value' };

describe('OSS tier with the ECS RAM role (no static keys)', () => {
  let oss: OssServer;
  let meta: Server;
  let metaUrl: string;
  const calls: string[] = [];
  let expiresInMs = 6 * 3600_000;

  before(async () => {
    oss = await startOssServer({
      buckets: ['tier-bucket'],
      credentials: { [STS.ak]: { secret: STS.secret, stsToken: STS.token } },
    });
    meta = createServer((req, res) => {
      calls.push(`${req.method} ${req.url}`);
      if (req.method === 'PUT' && req.url === '/latest/api/token') return res.end('metadata-token');
      if (req.headers['x-aliyun-ecs-metadata-token'] !== 'metadata-token') {
        res.statusCode = 401;
        return res.end();
      }
      if (req.url === '/latest/meta-data/ram/security-credentials/') return res.end(`${ROLE}\n`);
      if (req.url === `/latest/meta-data/ram/security-credentials/${ROLE}`)
        return res.end(
          JSON.stringify({
            Code: 'Success',
            AccessKeyId: STS.ak,
            AccessKeySecret: STS.secret,
            SecurityToken: STS.token,
            Expiration: new Date(Date.now() + expiresInMs).toISOString(),
            LastUpdated: new Date().toISOString(),
          }),
        );
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => meta.listen(0, '127.0.0.1', resolve));
    metaUrl = `http://127.0.0.1:${(meta.address() as AddressInfo).port}`;
  });
  after(async () => {
    await oss.close();
    await new Promise((resolve) => meta.close(resolve));
  });

  it('puts, reads and probes with the role credentials and their security token', async () => {
    const tier = createTierBackend(
      {
        name: 'ROLE',
        type: 'oss',
        endpoint: oss.endpoint,
        region: 'cn-hangzhou',
        bucket: 'tier-bucket',
        prefix: 'r/',
        storageClass: 'IA',
      },
      { oss: { ecsRamRole: { endpoint: metaUrl } } },
    );
    try {
      await tier.put('obj', Readable.from([Buffer.from('role bytes')]), { size: 10 });
      assert.equal((await readAll(await tier.get('obj'))).toString(), 'role bytes');
      assert.equal((await tier.head('obj'))?.storageClass, 'IA');
      await tier.probe();
      assert.equal(oss.authFailures, 0);
      assert.deepEqual(calls.slice(0, 3), [
        'PUT /latest/api/token',
        'GET /latest/meta-data/ram/security-credentials/',
        `GET /latest/meta-data/ram/security-credentials/${ROLE}`,
      ]);
      assert.equal(calls.length, 3, 'credentials are fetched once and reused');
    } finally {
      tier.close();
    }
  });

  it('refetches credentials that are close to expiry, and reports an unreachable metadata service clearly', async () => {
    expiresInMs = 60_000;
    const role = new EcsRamRoleCredentials({ endpoint: metaUrl, refreshBeforeMs: 5 * 60_000 });
    const before = calls.length;
    await role.get();
    await role.get();
    // The first get asks for a token, the role name and the credentials; the second (the credentials expire within
    // the refresh margin) asks again for a token and the credentials, the role being known.
    assert.equal(calls.length - before, 5, calls.slice(before).join(', '));
    expiresInMs = 6 * 3600_000;
    const down = new EcsRamRoleCredentials({ endpoint: 'http://127.0.0.1:1', timeoutMs: 500 });
    await assert.rejects(down.get(), (err: unknown) => err instanceof TierError && err.retryable);
  });
});
