/**
 * End to end: the whole app (bootstrap on four temp drives) counts S3 requests in /tiergate/metrics as a Prometheus
 * scraper reads them, and /tiergate/health/ready follows quorum as drives are removed under the running gateway.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startGateway, type TestGateway } from './harness';

/** Value of the one sample line `series` (name plus labels as rendered), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics and readiness', { timeout: 60_000 }, () => {
  let gw: TestGateway;
  let s3: S3Client;

  before(async () => {
    gw = await startGateway({ drives: 4 });
    s3 = gw.client();
  });

  after(async () => {
    await gw?.close();
  });

  async function scrape(): Promise<string> {
    const res = await fetch(`${gw.endpoint}/tiergate/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    return res.text();
  }

  it('counts S3 requests by operation and status, with latency and bytes', async () => {
    const body = Buffer.alloc(10_000, 7);
    await s3.send(new CreateBucketCommand({ Bucket: 'metrics' }));
    await s3.send(new PutObjectCommand({ Bucket: 'metrics', Key: 'k', Body: body }));
    await s3.send(new PutObjectCommand({ Bucket: 'metrics', Key: 'k2', Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'metrics', Key: 'k' }));
    assert.equal((await got.Body!.transformToByteArray()).length, body.length);
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'metrics', Key: 'missing' })));

    const text = await scrape();
    assert.equal(sample(text, 'tiergate_s3_requests_total{op="CreateBucket",status="200"}'), 1);
    assert.equal(sample(text, 'tiergate_s3_requests_total{op="PutObject",status="200"}'), 2);
    assert.equal(sample(text, 'tiergate_s3_requests_total{op="GetObject",status="200"}'), 1);
    assert.equal(sample(text, 'tiergate_s3_requests_total{op="GetObject",status="404"}'), 1);
    assert.equal(sample(text, 'tiergate_s3_request_duration_seconds_count{op="PutObject"}'), 2);
    assert.equal(sample(text, 'tiergate_s3_request_duration_seconds_bucket{op="PutObject",le="+Inf"}'), 2);
    assert.ok((sample(text, 'tiergate_s3_request_duration_seconds_sum{op="PutObject"}') ?? 0) > 0);
    // The SDK may frame the body (aws-chunked), so at least the object bytes came in.
    assert.ok(
      (sample(text, 'tiergate_s3_received_bytes_total{op="PutObject"}') ?? 0) >= 2 * body.length,
      text,
    );
    assert.ok((sample(text, 'tiergate_s3_sent_bytes_total{op="GetObject"}') ?? 0) >= body.length, text);
    assert.match(text, /^# TYPE tiergate_s3_request_duration_seconds histogram$/m);
  });

  it('reports drive states and set quorums from the storage status', async () => {
    const text = await scrape();
    for (let d = 0; d < 4; d++) {
      const labels = `set="0",drive="${d}",endpoint="${gw.drives[d]}"`;
      assert.equal(sample(text, `tiergate_drive_state{${labels},state="ok"}`), 1, text);
      assert.equal(sample(text, `tiergate_drive_state{${labels},state="faulty"}`), 0, text);
    }
    assert.equal(sample(text, 'tiergate_set_read_quorum{set="0"}'), 1);
    assert.equal(sample(text, 'tiergate_set_write_quorum{set="0"}'), 1);
    assert.equal(sample(text, 'tiergate_storage_status_up'), 1);
  });

  it('does not count its own scrapes or health checks as S3 requests', async () => {
    const total = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('tiergate_s3_requests_total{'))
        .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const before = total(await scrape());
    assert.ok(before > 0);
    await fetch(`${gw.endpoint}/tiergate/health/live`).then((r) => r.arrayBuffer());
    await fetch(`${gw.endpoint}/tiergate/health/ready`).then((r) => r.arrayBuffer());
    assert.equal(total(await scrape()), before);
  });

  it('is ready with quorum, and answers 503 with the set state once three of four drives are gone', async () => {
    let res = await fetch(`${gw.endpoint}/tiergate/health/ready`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'ready');

    await Promise.all(gw.drives.slice(1).map((d) => rm(d, { recursive: true, force: true })));
    res = await fetch(`${gw.endpoint}/tiergate/health/ready`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as {
      status: string;
      sets: { readQuorum: boolean; drivesOnline: number }[];
    };
    assert.equal(body.status, 'unready');
    assert.equal(body.sets[0].readQuorum, false);
    assert.equal(body.sets[0].drivesOnline, 1);

    const text = await scrape();
    assert.equal(sample(text, 'tiergate_set_read_quorum{set="0"}'), 0);
    assert.equal(
      sample(text, `tiergate_drive_state{set="0",drive="3",endpoint="${gw.drives[3]}",state="faulty"}`),
      1,
    );
  });
});
