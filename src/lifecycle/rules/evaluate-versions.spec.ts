/**
 * evaluate.ts on delete markers, noncurrent versions (NewerNoncurrentVersions included), a shortened day, and
 * multipart uploads.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicRule, doc, parse, rule } from '../../../test/fixtures/lifecycle-docs';
import {
  DAY,
  EXPIRE_3,
  filterRule,
  MIDNIGHT_AFTER_T0,
  OPTS as opts,
  T0,
  version,
} from '../../../test/fixtures/lifecycle-facts';
import type { VersionFacts } from './evaluate';
import { abortDue, nextAction } from './evaluate';

describe('nextAction: delete markers', () => {
  const marker = (over: Partial<VersionFacts> = {}): VersionFacts =>
    version({ isDeleteMarker: true, size: 0, isOnlyVersion: true, ...over });
  const eodm = (value: string) =>
    parse(
      doc(
        basicRule(`<Expiration><ExpiredObjectDeleteMarker>${value}</ExpiredObjectDeleteMarker></Expiration>`),
      ),
    );

  it('ExpiredObjectDeleteMarker removes a marker that is the only version, at once', () => {
    assert.deepEqual(nextAction(eodm('true'), marker(), opts), {
      action: 'remove-delete-marker',
      dueAt: T0,
      ruleId: 'r1',
    });
  });
  it('keeps a marker that still hides older versions', () => {
    assert.equal(nextAction(eodm('true'), marker({ isOnlyVersion: false }), opts), null);
  });
  it('ExpiredObjectDeleteMarker false does nothing', () => {
    assert.equal(nextAction(eodm('false'), marker(), opts), null);
  });
  it('Expiration Days removes an expired marker once it is old enough, and never expires it as current', () => {
    const config = parse(doc(basicRule(EXPIRE_3)));
    assert.deepEqual(nextAction(config, marker(), opts), {
      action: 'remove-delete-marker',
      dueAt: MIDNIGHT_AFTER_T0 + 3 * DAY,
      ruleId: 'r1',
    });
    assert.equal(nextAction(config, marker({ isOnlyVersion: false }), opts), null);
  });
  it('transitions never apply to markers; noncurrent expiration does', () => {
    const config = parse(
      doc(
        basicRule(
          '<Transition><Days>1</Days><StorageClass>COLD</StorageClass></Transition>' +
            '<NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays><StorageClass>COLD</StorageClass></NoncurrentVersionTransition>' +
            '<NoncurrentVersionExpiration><NoncurrentDays>4</NoncurrentDays></NoncurrentVersionExpiration>',
        ),
      ),
    );
    assert.equal(nextAction(config, marker({ isOnlyVersion: false }), opts), null);
    const old = marker({ isLatest: false, isOnlyVersion: false, noncurrentSince: T0 });
    assert.deepEqual(nextAction(config, old, opts), {
      action: 'expire-noncurrent',
      dueAt: MIDNIGHT_AFTER_T0 + 4 * DAY,
      ruleId: 'r1',
    });
  });
});

describe('nextAction: noncurrent versions', () => {
  const since = T0 + 5 * DAY; // became noncurrent five days after it was written
  const sinceMidnight = Date.parse('2030-03-16T00:00:00.000Z');
  const noncurrent = (over: Partial<VersionFacts> = {}): VersionFacts =>
    version({ isLatest: false, noncurrentSince: since, newerNoncurrentVersions: 0, ...over });
  const config = parse(
    doc(
      basicRule(
        '<NoncurrentVersionTransition><NoncurrentDays>2</NoncurrentDays><StorageClass>COLD</StorageClass></NoncurrentVersionTransition>' +
          '<NoncurrentVersionExpiration><NoncurrentDays>10</NoncurrentDays></NoncurrentVersionExpiration>',
      ),
    ),
  );

  it('count from when the version became noncurrent, not from its creation', () => {
    assert.deepEqual(nextAction(config, noncurrent(), opts), {
      action: 'transition-noncurrent',
      dueAt: sinceMidnight + 2 * DAY,
      ruleId: 'r1',
      storageClass: 'COLD',
    });
    assert.deepEqual(nextAction(config, noncurrent({ storageClass: 'COLD' }), opts), {
      action: 'expire-noncurrent',
      dueAt: sinceMidnight + 10 * DAY,
      ruleId: 'r1',
    });
  });

  it('no action without the time it became noncurrent', () => {
    assert.equal(nextAction(config, noncurrent({ noncurrentSince: undefined }), opts), null);
  });

  it('current-version actions do not apply to noncurrent versions', () => {
    const current = parse(
      doc(basicRule(`${EXPIRE_3}<Transition><Days>1</Days><StorageClass>COLD</StorageClass></Transition>`)),
    );
    assert.equal(nextAction(current, noncurrent(), opts), null);
  });

  describe('NewerNoncurrentVersions 2 keeps the two newest noncurrent versions', () => {
    const keep2 = parse(
      doc(
        basicRule(
          '<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>',
        ),
      ),
    );
    const table: [number | undefined, boolean][] = [
      [0, false],
      [1, false],
      [2, true],
      [3, true],
      [undefined, false], // the engine did not say: never delete on a guess
    ];
    for (const [newer, eligible] of table) {
      it(`${String(newer)} newer noncurrent versions -> ${eligible ? 'expires' : 'kept'}`, () => {
        const due = nextAction(keep2, noncurrent({ newerNoncurrentVersions: newer }), opts);
        assert.deepEqual(
          due,
          eligible ? { action: 'expire-noncurrent', dueAt: sinceMidnight + DAY, ruleId: 'r1' } : null,
        );
      });
    }
    it('applies to noncurrent transitions too', () => {
      const move = parse(
        doc(
          basicRule(
            '<NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays><StorageClass>COLD</StorageClass><NewerNoncurrentVersions>1</NewerNoncurrentVersions></NoncurrentVersionTransition>',
          ),
        ),
      );
      assert.equal(nextAction(move, noncurrent({ newerNoncurrentVersions: 0 }), opts), null);
      assert.equal(
        nextAction(move, noncurrent({ newerNoncurrentVersions: 1 }), opts)?.action,
        'transition-noncurrent',
      );
    });
  });
});

describe('nextAction with a 2-second day', () => {
  it('counts days of daySeconds from the epoch', () => {
    const config = parse(doc(basicRule(EXPIRE_3)));
    const due = nextAction(config, version({ modTime: 1_700_000_001_500 }), {
      daySeconds: 2,
      now: 1_700_000_001_500,
    });
    assert.equal(due?.dueAt, 1_700_000_008_000);
  });
});

describe('abortDue', () => {
  const abort = (days: number) =>
    `<AbortIncompleteMultipartUpload><DaysAfterInitiation>${days}</DaysAfterInitiation></AbortIncompleteMultipartUpload>`;
  const config = parse(
    doc(
      filterRule('<Prefix>up/</Prefix>', abort(7)).replace('<ID>f</ID>', '<ID>slow</ID>'),
      filterRule('<Prefix>up/fast/</Prefix>', abort(1)).replace('<ID>f</ID>', '<ID>fast</ID>'),
      rule(`<ID>off</ID><Filter/><Status>Disabled</Status>${abort(1)}`),
    ),
  );

  it('takes the earliest rule whose prefix matches', () => {
    assert.deepEqual(abortDue(config, { key: 'up/fast/x', initiated: T0 }, opts), {
      ruleId: 'fast',
      dueAt: MIDNIGHT_AFTER_T0 + DAY,
    });
    assert.deepEqual(abortDue(config, { key: 'up/x', initiated: T0 }, opts), {
      ruleId: 'slow',
      dueAt: MIDNIGHT_AFTER_T0 + 7 * DAY,
    });
  });

  it('is null when no Enabled rule covers the key', () => {
    assert.equal(abortDue(config, { key: 'other/x', initiated: T0 }, opts), null);
  });
});
