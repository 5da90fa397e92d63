import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AdminModule } from './admin.module';

describe('HealthController', () => {
  let app: INestApplication<Server>;
  let base: string;

  before(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AdminModule] }).compile();
    app = moduleRef.createNestApplication<INestApplication<Server>>({ logger: false, bodyParser: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  after(async () => {
    await app?.close();
  });

  it('GET /tiergate/health/live answers 200 {status: ok}, uncached', async () => {
    const res = await fetch(`${base}/tiergate/health/live`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('does not answer other health paths yet', async () => {
    const res = await fetch(`${base}/tiergate/health/ready`);
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  });
});
