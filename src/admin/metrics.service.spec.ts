import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StorageStatus } from '../storage/object-layer';
import { GatewayMetrics, LATENCY_BUCKETS } from './metrics.service';

/** The sample lines of `text` whose name is `name` (with labels, without the value), mapped to their value. */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const space = line.lastIndexOf(' ');
    const series = line.slice(0, space);
    if (series === name || series.startsWith(`${name}{`)) out.set(series, Number(line.slice(space + 1)));
  }
  return out;
}

const STATUS: StorageStatus = {
  deploymentId: 'dep',
  sets: [
    {
      index: 0,
      dataShards: 2,
      parityShards: 2,
      readQuorum: true,
      writeQuorum: false,
      drives: [
        { endpoint: '/d1', setIndex: 0, driveIndex: 0, state: 'ok', totalBytes: 1000, freeBytes: 400 },
        { endpoint: '/d2', setIndex: 0, driveIndex: 1, state: 'healing', totalBytes: 1000, freeBytes: 500 },
        { endpoint: '/d3', setIndex: 0, driveIndex: 2, state: 'faulty' },
        { endpoint: '/d4', setIndex: 0, driveIndex: 3, state: 'offline' },
      ],
    },
  ],
};

describe('GatewayMetrics', () => {
  it('counts requests by operation and status, and bytes by operation', () => {
    const m = new GatewayMetrics();
    m.record({ op: 'PutObject', status: 200, durationMs: 3, bytesIn: 4096, bytesOut: 0 });
    m.record({ op: 'PutObject', status: 200, durationMs: 5, bytesIn: 100, bytesOut: 0 });
    m.record({ op: 'GetObject', status: 404, durationMs: 1, bytesIn: 0, bytesOut: 250 });
    const text = m.render(STATUS);
    assert.deepEqual(
      samples(text, 'tiergate_s3_requests_total'),
      new Map([
        ['tiergate_s3_requests_total{op="PutObject",status="200"}', 2],
        ['tiergate_s3_requests_total{op="GetObject",status="404"}', 1],
      ]),
    );
    assert.deepEqual(
      samples(text, 'tiergate_s3_received_bytes_total'),
      new Map([['tiergate_s3_received_bytes_total{op="PutObject"}', 4196]]),
    );
    assert.deepEqual(
      samples(text, 'tiergate_s3_sent_bytes_total'),
      new Map([['tiergate_s3_sent_bytes_total{op="GetObject"}', 250]]),
    );
  });

  it('puts latencies in seconds into the histogram', () => {
    const m = new GatewayMetrics();
    m.record({ op: 'GetObject', status: 200, durationMs: 3, bytesIn: 0, bytesOut: 0 });
    m.record({ op: 'GetObject', status: 200, durationMs: 2000, bytesIn: 0, bytesOut: 0 });
    const s = samples(m.render(STATUS), 'tiergate_s3_request_duration_seconds_bucket');
    assert.equal(s.size, LATENCY_BUCKETS.length + 1);
    assert.equal(s.get('tiergate_s3_request_duration_seconds_bucket{op="GetObject",le="0.0025"}'), 0);
    assert.equal(s.get('tiergate_s3_request_duration_seconds_bucket{op="GetObject",le="0.005"}'), 1);
    assert.equal(s.get('tiergate_s3_request_duration_seconds_bucket{op="GetObject",le="1"}'), 1);
    assert.equal(s.get('tiergate_s3_request_duration_seconds_bucket{op="GetObject",le="2.5"}'), 2);
    assert.equal(s.get('tiergate_s3_request_duration_seconds_bucket{op="GetObject",le="+Inf"}'), 2);
    const sum = samples(m.render(STATUS), 'tiergate_s3_request_duration_seconds_sum');
    assert.deepEqual(sum, new Map([['tiergate_s3_request_duration_seconds_sum{op="GetObject"}', 2.003]]));
  });

  it('reports every drive state as a 0/1 gauge, capacity, and the set quorums', () => {
    const text = new GatewayMetrics().render(STATUS);
    const states = samples(text, 'tiergate_drive_state');
    assert.equal(states.size, 4 * 5);
    assert.equal(states.get('tiergate_drive_state{set="0",drive="0",endpoint="/d1",state="ok"}'), 1);
    assert.equal(states.get('tiergate_drive_state{set="0",drive="0",endpoint="/d1",state="faulty"}'), 0);
    assert.equal(states.get('tiergate_drive_state{set="0",drive="1",endpoint="/d2",state="healing"}'), 1);
    assert.equal(states.get('tiergate_drive_state{set="0",drive="2",endpoint="/d3",state="faulty"}'), 1);
    assert.equal(states.get('tiergate_drive_state{set="0",drive="3",endpoint="/d4",state="offline"}'), 1);
    assert.equal(
      [...states.values()].reduce((a, b) => a + b),
      4,
      'one state per drive',
    );
    assert.deepEqual(
      samples(text, 'tiergate_drive_free_bytes'),
      new Map([
        ['tiergate_drive_free_bytes{set="0",drive="0",endpoint="/d1"}', 400],
        ['tiergate_drive_free_bytes{set="0",drive="1",endpoint="/d2"}', 500],
      ]),
    );
    assert.deepEqual(
      samples(text, 'tiergate_set_read_quorum'),
      new Map([['tiergate_set_read_quorum{set="0"}', 1]]),
    );
    assert.deepEqual(
      samples(text, 'tiergate_set_write_quorum'),
      new Map([['tiergate_set_write_quorum{set="0"}', 0]]),
    );
    assert.deepEqual(
      samples(text, 'tiergate_set_drives_online'),
      new Map([['tiergate_set_drives_online{set="0"}', 2]]),
    );
    assert.deepEqual(
      samples(text, 'tiergate_storage_status_up'),
      new Map([['tiergate_storage_status_up', 1]]),
    );
  });

  it('drops drive series when the status is unreadable, and refreshes them on the next scrape', () => {
    const m = new GatewayMetrics();
    m.render(STATUS);
    const failed = m.render(undefined);
    assert.equal(samples(failed, 'tiergate_drive_state').size, 0);
    assert.equal(samples(failed, 'tiergate_set_read_quorum').size, 0);
    assert.deepEqual(
      samples(failed, 'tiergate_storage_status_up'),
      new Map([['tiergate_storage_status_up', 0]]),
    );
    const healed: StorageStatus = {
      ...STATUS,
      sets: [
        { ...STATUS.sets[0], drives: STATUS.sets[0].drives.map((d) => ({ ...d, state: 'ok' as const })) },
      ],
    };
    const again = samples(m.render(healed), 'tiergate_drive_state');
    assert.equal(again.get('tiergate_drive_state{set="0",drive="2",endpoint="/d3",state="faulty"}'), 0);
    assert.equal(again.get('tiergate_drive_state{set="0",drive="2",endpoint="/d3",state="ok"}'), 1);
  });
});
