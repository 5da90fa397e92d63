/**
 * From a key's stored versions to evaluation facts and planned jobs: which version is current, when each became
 * noncurrent (its successor's time), how many noncurrent versions are newer, when a marker is the only version;
 * and which of their actions the scheduler queues (expirations now; transitions wait for the tiering issue).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { doc, parse, rule as ruleXml } from '../../../test/fixtures/lifecycle-docs';
import type { ObjectInfo } from '../../storage/object-layer';
import { dueAfterDays } from '../rules/lifecycle-days';
import { LifecycleScheduler } from './scheduler';
import { factsAt, latestFacts, sameRuleFacts } from './version-facts';

const T = Date.UTC(2026, 0, 10, 12, 0, 0);

/** A rule with an ID, a filter (inner XML, empty for all), a status and actions. */
function rule(id: string, filter: string, actions: string, status = 'Enabled'): string {
  return ruleXml(`<ID>${id}</ID><Filter>${filter}</Filter><Status>${status}</Status>${actions}`);
}
const D = 86_400;

function info(versionId: string, at: number, extra: Partial<ObjectInfo> = {}): ObjectInfo {
  return {
    bucket: 'b',
    key: 'k',
    versionId,
    isLatest: false,
    deleteMarker: false,
    size: 10,
    etag: 'e',
    modTime: new Date(at),
    userMetadata: {},
    tags: {},
    checksums: {},
    storageClass: 'STANDARD',
    parts: [],
    ...extra,
  };
}

describe('version facts', () => {
  const versions = [
    info('v3', T + 3000),
    info('m2', T + 2000, { deleteMarker: true, size: 0 }),
    info('v1', T + 1000, { tags: { a: 'b' }, size: 99 }),
    info('v0', T),
  ];

  it('the newest version is current; each older one became noncurrent at its successor', () => {
    assert.deepEqual(factsAt(versions, 0), {
      key: 'k',
      size: 10,
      tags: {},
      modTime: T + 3000,
      isLatest: true,
      isDeleteMarker: false,
      storageClass: 'STANDARD',
    });
    assert.deepEqual(factsAt(versions, 1), {
      key: 'k',
      size: 0,
      tags: {},
      modTime: T + 2000,
      isLatest: false,
      isDeleteMarker: true,
      noncurrentSince: T + 3000,
      newerNoncurrentVersions: 0,
      storageClass: 'STANDARD',
    });
    assert.equal(factsAt(versions, 2).noncurrentSince, T + 2000);
    assert.equal(factsAt(versions, 2).newerNoncurrentVersions, 1, 'the noncurrent marker counts');
    assert.deepEqual(factsAt(versions, 2).tags, { a: 'b' });
    assert.equal(factsAt(versions, 3).newerNoncurrentVersions, 2);
  });

  it('a current marker knows whether it is the only version; the latest-only view never claims it', () => {
    const marker = info('m', T, { deleteMarker: true, size: 5 });
    assert.equal(factsAt([marker], 0).isOnlyVersion, true);
    assert.equal(factsAt([marker, info('v', T - 1)], 0).isOnlyVersion, false);
    assert.equal(factsAt([marker], 0).size, 0, 'a marker has no size');
    assert.equal(latestFacts(marker).isOnlyVersion, undefined);
  });
});

describe('LifecycleScheduler.plan', () => {
  const scheduler = new LifecycleScheduler(undefined as never, undefined as never, undefined as never, D);
  const versions = [info('v2', T + 2000), info('v1', T + 1000), info('v0', T)];

  it('plans the current expiration and the eligible noncurrent ones, with their due times', () => {
    const config = parse(
      doc(
        rule('r', '', '<Expiration><Days>3</Days></Expiration>') +
          rule(
            'n',
            '',
            '<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionExpiration>',
          ),
      ),
    );
    const planned = scheduler.plan(config, versions, T);
    assert.deepEqual(planned, [
      { action: 'expire-current', dueAt: dueAfterDays(T + 2000, 3, D), ruleId: 'r', versionId: 'v2' },
      // v1 is the newest noncurrent version: kept (NewerNoncurrentVersions 1); v0 has one newer noncurrent.
      { action: 'expire-noncurrent', dueAt: dueAfterDays(T + 1000, 1, D), ruleId: 'n', versionId: 'v0' },
    ]);
  });

  it('plans nothing for a disabled rule or a filter that does not match; plans a transition to its tier', () => {
    assert.deepEqual(
      scheduler.plan(
        parse(doc(rule('d', '', '<Expiration><Days>1</Days></Expiration>', 'Disabled'))),
        versions,
        T,
      ),
      [],
    );
    assert.deepEqual(
      scheduler.plan(
        parse(doc(rule('p', '<Prefix>other/</Prefix>', '<Expiration><Days>1</Days></Expiration>'))),
        versions,
        T,
      ),
      [],
    );
    const transition = parse(
      doc(
        rule(
          't',
          '<ObjectSizeGreaterThan>1</ObjectSizeGreaterThan>',
          '<Transition><Days>1</Days><StorageClass>COLD</StorageClass></Transition>',
        ),
      ),
    );
    assert.deepEqual(scheduler.plan(transition, versions, T), [
      {
        action: 'transition',
        dueAt: dueAfterDays(T + 2000, 1, D),
        ruleId: 't',
        storageClass: 'COLD',
        versionId: 'v2',
      },
    ]);
  });

  it('sameRuleFacts: equal when only what the rules do not read changed; tag order does not matter', () => {
    const base = info('v', T, { tags: { a: '1', b: '2' } });
    assert.equal(sameRuleFacts(base, { ...base }), true);
    assert.equal(sameRuleFacts(base, { ...base, tags: { b: '2', a: '1' } }), true, 'tag order');
    assert.equal(
      sameRuleFacts(base, { ...base, userMetadata: { x: 'y' }, isLatest: true, tier: undefined }),
      true,
      'fields the rules do not read',
    );
    const changed: [string, Partial<ObjectInfo>][] = [
      ['a tag value', { tags: { a: '1', b: '3' } }],
      ['a tag added', { tags: { a: '1', b: '2', c: '3' } }],
      ['a tag removed', { tags: { a: '1' } }],
      ['a tag renamed', { tags: { a: '1', c: '2' } }],
      ['the storage class', { storageClass: 'COLD' }],
      ['the size', { size: 11 }],
      ['the time', { modTime: new Date(T + 1) }],
      ['a delete marker', { deleteMarker: true }],
      ['the version', { versionId: 'w' }],
      ['the key', { key: 'other' }],
    ];
    for (const [what, change] of changed) {
      assert.equal(sameRuleFacts(base, { ...base, ...change }), false, what);
      assert.equal(sameRuleFacts({ ...base, ...change }, base), false, `${what}, the other way round`);
    }
  });
});
