/**
 * The health endpoints on the real storage engine (four temp drives, one 2+2 set): readiness follows quorum as
 * drives disappear underneath the running engine.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { StorageModule } from '../storage/storage.module';
import { AdminModule } from './admin.module';

describe('HealthController', () => {
  let app: INestApplication<Server>;
  let base: string;
  let dir: string;
  let drives: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tiergate-health-'));
    drives = [1, 2, 3, 4].map((i) => join(dir, `d${i}`));
    const moduleRef = await Test.createTestingModule({
      imports: [
        StorageModule.forRootAsync({ useFactory: () => ({ drives, fsync: false, log: () => undefined }) }),
        AdminModule,
      ],
    }).compile();
    app = moduleRef.createNestApplication<INestApplication<Server>>({ logger: false, bodyParser: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  after(async () => {
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('GET /tiergate/health/live answers 200 {status: ok}, uncached', async () => {
    const res = await fetch(`${base}/tiergate/health/live`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('GET /tiergate/health/ready answers 200 with every set in quorum', async () => {
    const res = await fetch(`${base}/tiergate/health/ready`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(await res.json(), {
      status: 'ready',
      sets: [
        {
          index: 0,
          dataShards: 2,
          parityShards: 2,
          readQuorum: true,
          writeQuorum: true,
          drivesOnline: 4,
          drives: [0, 1, 2, 3].map((drive) => ({ drive, state: 'ok' })),
        },
      ],
    });
  });

  it('stays ready with one drive gone, and answers 503 once three of four are gone', async () => {
    await rm(drives[3], { recursive: true, force: true });
    let res = await fetch(`${base}/tiergate/health/ready`);
    const one = (await res.json()) as { status: string; sets: { drivesOnline: number }[] };
    assert.equal(res.status, 200, JSON.stringify(one));
    assert.equal(one.sets[0].drivesOnline, 3);

    await Promise.all(drives.slice(1, 3).map((d) => rm(d, { recursive: true, force: true })));
    res = await fetch(`${base}/tiergate/health/ready`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as {
      status: string;
      sets: { readQuorum: boolean; writeQuorum: boolean; drives: { state: string }[] }[];
    };
    assert.equal(body.status, 'unready');
    assert.equal(body.sets[0].readQuorum, false);
    assert.equal(body.sets[0].writeQuorum, false);
    assert.deepEqual(
      body.sets[0].drives.map((d) => d.state),
      ['ok', 'faulty', 'faulty', 'faulty'],
    );
  });
});
