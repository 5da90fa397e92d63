/**
 * End to end: POST /tiergate/admin/v1/tiers/{name}/reconcile on a running gateway with a tier on the OSS test server
 * (exact V4 signatures) and a 1-second orphan grace: root-signed only; an object planted under the tier prefix, and
 * a multipart upload left open there, are reported by a dry run and kept, then removed and aborted by the real
 * pass; an unknown tier is 404 and a bad dryRun 400; the removal shows in /tiergate/metrics with the tier and reason,
 * and the abort with the tier, beside the queue lag gauge.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { ReconcileReport } from '../../src/lifecycle/engine/tier-reconciler';
import { createTierBackend } from '../../src/tiers/create-tier-backend';
import type { TierBackend } from '../../src/tiers/tier-backend';
import type { TierDefinition } from '../../src/tiers/tier-definition';
import { openUpload } from '../fixtures/cloud/open-upload';
import { startOssServer, type OssServer } from '../fixtures/cloud/oss-server';
import { metricValue } from '../fixtures/tier-engine';
import { startGateway, type TestGateway } from './harness';

const TIERS = '/tiergate/admin/v1/tiers';
const BUCKET = 'reconcile-tier';
const AK = 'LTAI5tReconcileE2E';
const SECRET = 'reconcile-e2e-secret-0123456789';

describe('/tiergate/admin/v1/tiers/{name}/reconcile', () => {
  let gateway: TestGateway;
  let oss: OssServer;
  let direct: TierBackend;
  let def: TierDefinition;

  before(async () => {
    oss = await startOssServer({ buckets: [BUCKET], credentials: { [AK]: { secret: SECRET } } });
    // The periodic pass must not run during the test: it would take the orphan before the dry run sees it.
    gateway = await startGateway({
      env: { TIERGATE_TIER_ORPHAN_GRACE_SECONDS: '1', TIERGATE_SCANNER_INTERVAL_SECONDS: '3600' },
    });
    def = {
      name: 'WARM',
      type: 'oss' as const,
      endpoint: oss.endpoint,
      region: 'cn-hangzhou',
      bucket: BUCKET,
      prefix: 'gw/',
      storageClass: 'Standard',
      accessKey: AK,
      secretKey: SECRET,
    };
    const res = await gateway.signed({
      method: 'PUT',
      path: TIERS,
      body: JSON.stringify(def),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.status, 201, res.text);
    direct = createTierBackend({ ...def, region: 'oss-cn-hangzhou' });
  });
  after(async () => {
    direct?.close();
    await gateway?.close();
    await oss?.close();
  });

  it('reports an orphan and an open upload on a dry run, removes and aborts them on the real pass, and counts them in the metrics', async () => {
    const path = `${TIERS}/WARM/reconcile`;
    assert.equal((await gateway.unsigned({ method: 'POST', path })).status, 403);
    await direct.put('planted', Readable.from([Buffer.alloc(777, 5)]), { size: 777 });
    const uploadId = await openUpload(def, 'left-open');
    await delay(2100);

    const dry = await gateway.signed({ method: 'POST', path: `${path}?dryRun=true` });
    assert.equal(dry.status, 200, dry.text);
    const dryReport = JSON.parse(dry.text) as ReconcileReport;
    assert.deepEqual(
      [dryReport.dryRun, dryReport.listed, dryReport.referenced, dryReport.orphans, dryReport.removed],
      [true, 1, 0, 1, 0],
    );
    assert.equal(dryReport.details[0]?.key, 'planted');
    assert.deepEqual(
      [dryReport.uploadsListed, dryReport.uploadsStale, dryReport.uploadsAborted, dryReport.uploadsNotListed],
      [1, 1, 0, undefined],
    );
    assert.deepEqual(
      dryReport.uploadDetails.map((d) => [d.key, d.uploadId, d.aborted]),
      [['left-open', uploadId, false]],
    );
    assert.ok(await direct.head('planted'), 'a dry run removes nothing');
    assert.equal(oss.store.openUploads(), 1, 'a dry run aborts nothing');

    const real = await gateway.signed({ method: 'POST', path });
    assert.equal(real.status, 200, real.text);
    const report = JSON.parse(real.text) as ReconcileReport;
    assert.deepEqual([report.dryRun, report.orphans, report.removed], [false, 1, 1]);
    assert.deepEqual([report.uploadsStale, report.uploadsAborted], [1, 1]);
    assert.equal(report.uploadDetails[0]?.aborted, true);
    assert.equal(await direct.head('planted'), null);
    assert.equal(oss.store.openUploads(), 0, 'the open upload is aborted');

    const metrics = await gateway.unsigned({ method: 'GET', path: '/tiergate/metrics' });
    assert.equal(
      metricValue(metrics.text, 'tiergate_tier_remote_deleted_objects_total', {
        tier: 'WARM',
        reason: 'orphan',
      }),
      1,
      metrics.text,
    );
    assert.equal(
      metricValue(metrics.text, 'tiergate_tier_remote_deleted_bytes_total', {
        tier: 'WARM',
        reason: 'orphan',
      }),
      777,
    );
    assert.equal(
      metricValue(metrics.text, 'tiergate_tier_uploads_aborted_total', { tier: 'WARM' }),
      1,
      metrics.text,
    );
    assert.match(metrics.text, /^tiergate_queue_lag_seconds\{queue="remote-delete"\} \d/m);
  });

  it('answers 404 for an unknown tier and 400 for a bad dryRun', async () => {
    const missing = await gateway.signed({ method: 'POST', path: `${TIERS}/NOPE/reconcile` });
    assert.equal(missing.status, 404, missing.text);
    assert.equal((JSON.parse(missing.text) as { code: string }).code, 'NoSuchTier');
    const bad = await gateway.signed({ method: 'POST', path: `${TIERS}/WARM/reconcile?dryRun=maybe` });
    assert.equal(bad.status, 400, bad.text);
  });
});
