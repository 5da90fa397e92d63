import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeLabelValue, formatValue, Registry } from './prometheus';

describe('Prometheus registry', () => {
  it('renders nothing for families without series', () => {
    const r = new Registry();
    r.counter('a_total', 'A.', ['op']);
    assert.equal(r.render(), '');
  });

  it('renders a labelled counter with HELP and TYPE once, series in first-use order', () => {
    const r = new Registry();
    const c = r.counter('tiergate_s3_requests_total', 'S3 requests.', ['op', 'status']);
    c.inc({ op: 'PutObject', status: 200 });
    c.inc({ op: 'GetObject', status: 404 });
    c.inc({ op: 'PutObject', status: 200 }, 2);
    assert.equal(
      r.render(),
      [
        '# HELP tiergate_s3_requests_total S3 requests.',
        '# TYPE tiergate_s3_requests_total counter',
        'tiergate_s3_requests_total{op="PutObject",status="200"} 3',
        'tiergate_s3_requests_total{op="GetObject",status="404"} 1',
        '',
      ].join('\n'),
    );
  });

  it('renders an unlabelled gauge without braces and keeps only the last value', () => {
    const r = new Registry();
    const g = r.gauge('up', 'Up.');
    g.set({}, 1);
    g.set({}, 0);
    assert.equal(r.render(), '# HELP up Up.\n# TYPE up gauge\nup 0\n');
  });

  it('drops a gauge family on reset until it is set again', () => {
    const r = new Registry();
    const g = r.gauge('g', 'G.', ['k']);
    g.set({ k: 'x' }, 5);
    g.reset();
    g.set({ k: 'y' }, 6);
    assert.equal(r.render(), '# HELP g G.\n# TYPE g gauge\ng{k="y"} 6\n');
  });

  it('renders cumulative histogram buckets, +Inf equal to _count, and the sum', () => {
    const r = new Registry();
    const h = r.histogram('d_seconds', 'D.', ['op'], [0.1, 1, 0.5]);
    for (const v of [0.05, 0.1, 0.3, 0.7, 2]) h.observe({ op: 'GetObject' }, v);
    assert.equal(
      r.render(),
      [
        '# HELP d_seconds D.',
        '# TYPE d_seconds histogram',
        'd_seconds_bucket{op="GetObject",le="0.1"} 2',
        'd_seconds_bucket{op="GetObject",le="0.5"} 3',
        'd_seconds_bucket{op="GetObject",le="1"} 4',
        'd_seconds_bucket{op="GetObject",le="+Inf"} 5',
        'd_seconds_sum{op="GetObject"} 3.15',
        'd_seconds_count{op="GetObject"} 5',
        '',
      ].join('\n'),
    );
  });

  it('renders an unlabelled histogram with only le in its bucket labels', () => {
    const r = new Registry();
    r.histogram('h', 'H.', [], [1]).observe({}, 3);
    assert.equal(
      r.render(),
      '# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 0\nh_bucket{le="+Inf"} 1\nh_sum 3\nh_count 1\n',
    );
  });

  it('escapes label values and help text', () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    const r = new Registry();
    r.gauge('g', 'line one\nback\\slash', ['path']).set({ path: 'C:\\d "x"' }, 1);
    assert.equal(
      r.render(),
      '# HELP g line one\\nback\\\\slash\n# TYPE g gauge\ng{path="C:\\\\d \\"x\\""} 1\n',
    );
  });

  it('spells out infinities and NaN', () => {
    assert.deepEqual([Infinity, -Infinity, NaN, 1.5, 0].map(formatValue), [
      '+Inf',
      '-Inf',
      'NaN',
      '1.5',
      '0',
    ]);
  });

  it('rejects bad names, duplicate families, decreasing counters and bad buckets', () => {
    const r = new Registry();
    assert.throws(() => r.counter('bad-name', 'x'), /invalid metric name/);
    assert.throws(() => r.counter('ok', 'x', ['bad-label']), /invalid label name/);
    assert.throws(() => r.counter('ok2', 'x', ['__reserved']), /invalid label name/);
    r.counter('dup', 'x');
    assert.throws(() => r.gauge('dup', 'x'), /registered twice/);
    const c = r.counter('c', 'x');
    assert.throws(() => c.inc({}, -1), /cannot decrease/);
    assert.throws(() => r.histogram('h1', 'x', ['le'], [1]), /le/);
    assert.throws(() => r.histogram('h2', 'x', [], []), /bucket/);
    assert.throws(() => r.histogram('h3', 'x', [], [1, 1]), /bucket/);
    assert.throws(() => r.histogram('h4', 'x', [], [1, Infinity]), /bucket/);
  });
});
