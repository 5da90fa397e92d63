/**
 * evaluate.ts on current versions: which action comes next, and when. Tables per filter kind and per action, with
 * both the matching and the non-matching case, so a filter or action that is ignored fails as surely as one that
 * fires wrongly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicRule, doc, parse, rule, tagXml } from '../../../test/fixtures/lifecycle-docs';
import {
  DAY,
  EXPIRE_3,
  filterRule,
  KiB,
  MIDNIGHT_AFTER_T0,
  OPTS as opts,
  T0,
  version,
} from '../../../test/fixtures/lifecycle-facts';
import { type DueAction, nextAction, type VersionFacts } from './evaluate';

const tag = (k: string, v: string): string => tagXml(k, v);

describe('nextAction: filters', () => {
  const expire3 = { action: 'expire-current', dueAt: MIDNIGHT_AFTER_T0 + 3 * DAY, ruleId: 'f' };
  const table: [string, string, Partial<VersionFacts>, boolean][] = [
    ['empty filter, any key', '', { key: 'anything' }, true],
    ['prefix, matching key', '<Prefix>logs/</Prefix>', {}, true],
    ['prefix, other key', '<Prefix>logs/</Prefix>', { key: 'img/a.png' }, false],
    ['prefix is case-sensitive', '<Prefix>Logs/</Prefix>', {}, false],
    ['tag present', tag('class', 'tmp'), { tags: { class: 'tmp', other: 'x' } }, true],
    ['tag with another value', tag('class', 'tmp'), { tags: { class: 'keep' } }, false],
    ['tag absent', tag('class', 'tmp'), { tags: {} }, false],
    [
      'tag without value matches only the empty value',
      '<Tag><Key>class</Key></Tag>',
      { tags: { class: '' } },
      true,
    ],
    ['tag without value, object has a value', '<Tag><Key>class</Key></Tag>', { tags: { class: 'x' } }, false],
    ['size greater than, bigger', '<ObjectSizeGreaterThan>100</ObjectSizeGreaterThan>', { size: 101 }, true],
    [
      'size greater than is exclusive',
      '<ObjectSizeGreaterThan>100</ObjectSizeGreaterThan>',
      { size: 100 },
      false,
    ],
    ['size less than, smaller', '<ObjectSizeLessThan>100</ObjectSizeLessThan>', { size: 99 }, true],
    ['size less than is exclusive', '<ObjectSizeLessThan>100</ObjectSizeLessThan>', { size: 100 }, false],
    [
      'And, every predicate holds',
      `<And><Prefix>logs/</Prefix>${tag('a', '1')}${tag('b', '2')}<ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>20</ObjectSizeLessThan></And>`,
      { size: 15, tags: { a: '1', b: '2' } },
      true,
    ],
    ['And, one tag missing', `<And>${tag('a', '1')}${tag('b', '2')}</And>`, { tags: { a: '1' } }, false],
    ['And, prefix fails', `<And><Prefix>img/</Prefix>${tag('a', '1')}</And>`, { tags: { a: '1' } }, false],
    [
      'And, size out of range',
      '<And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>20</ObjectSizeLessThan></And>',
      { size: 20 },
      false,
    ],
  ];
  for (const [name, filter, facts, matches] of table) {
    it(`${name} -> ${matches ? 'matches' : 'no match'}`, () => {
      const config = parse(doc(filterRule(filter, EXPIRE_3)));
      assert.deepEqual(nextAction(config, version(facts), opts), matches ? expire3 : null);
    });
  }

  it('legacy top-level Prefix', () => {
    const config = parse(doc(rule(`<ID>f</ID><Prefix>logs/</Prefix><Status>Enabled</Status>${EXPIRE_3}`)));
    assert.deepEqual(nextAction(config, version(), opts), expire3);
    assert.equal(nextAction(config, version({ key: 'other' }), opts), null);
  });

  it('Disabled rules never match', () => {
    const config = parse(doc(rule(`<ID>f</ID><Filter/><Status>Disabled</Status>${EXPIRE_3}`)));
    assert.equal(nextAction(config, version(), opts), null);
  });
});

describe('nextAction: current versions', () => {
  it('Expiration Days -> expire-current at the rounded-up midnight', () => {
    const config = parse(doc(basicRule('<Expiration><Days>1</Days></Expiration>')));
    assert.deepEqual(nextAction(config, version(), opts), {
      action: 'expire-current',
      dueAt: MIDNIGHT_AFTER_T0 + DAY,
      ruleId: 'r1',
    });
  });

  it('Expiration Date -> expire-current on that date, or at once for objects written after it', () => {
    const config = parse(doc(basicRule('<Expiration><Date>2030-06-01T00:00:00Z</Date></Expiration>')));
    assert.equal(nextAction(config, version(), opts)?.dueAt, Date.parse('2030-06-01T00:00:00Z'));
    const later = T0 + 200 * DAY;
    assert.deepEqual(nextAction(config, version({ modTime: later }), { ...opts, now: later }), {
      action: 'expire-current',
      dueAt: later,
      ruleId: 'r1',
    });
  });

  it('Transition Days -> transition with its storage class', () => {
    const config = parse(
      doc(basicRule('<Transition><Days>0</Days><StorageClass>COLD</StorageClass></Transition>')),
    );
    assert.deepEqual(nextAction(config, version(), opts), {
      action: 'transition',
      dueAt: MIDNIGHT_AFTER_T0,
      ruleId: 'r1',
      storageClass: 'COLD',
    });
  });

  it('Transition Date', () => {
    const config = parse(
      doc(
        basicRule(
          '<Transition><Date>2030-04-01T00:00:00Z</Date><StorageClass>COLD</StorageClass></Transition>',
        ),
      ),
    );
    assert.equal(nextAction(config, version(), opts)?.dueAt, Date.parse('2030-04-01T00:00:00Z'));
  });

  const chain = parse(
    doc(
      basicRule(
        '<Transition><Days>1</Days><StorageClass>COLD</StorageClass></Transition>' +
          '<Transition><Days>30</Days><StorageClass>ARCHIVE</StorageClass></Transition>' +
          '<Expiration><Days>90</Days></Expiration>',
      ),
    ),
  );
  const dueOn = (days: number): number => MIDNIGHT_AFTER_T0 + days * DAY;

  it('walks a transition chain one stage at a time, then expires', () => {
    const step = (storageClass: string | undefined): DueAction | null =>
      nextAction(chain, version({ storageClass }), opts);
    assert.deepEqual(step(undefined), {
      action: 'transition',
      dueAt: dueOn(1),
      ruleId: 'r1',
      storageClass: 'COLD',
    });
    assert.deepEqual(step('STANDARD'), step(undefined));
    assert.deepEqual(step('COLD'), {
      action: 'transition',
      dueAt: dueOn(30),
      ruleId: 'r1',
      storageClass: 'ARCHIVE',
    });
    assert.deepEqual(step('ARCHIVE'), { action: 'expire-current', dueAt: dueOn(90), ruleId: 'r1' });
  });

  it('leaves a version in a tier no rule transitions to any more (expiration still applies)', () => {
    assert.deepEqual(nextAction(chain, version({ storageClass: 'OTHER' }), opts), {
      action: 'expire-current',
      dueAt: dueOn(90),
      ruleId: 'r1',
    });
  });

  it('when several stages are already due, goes straight to the last one', () => {
    const now = dueOn(45);
    assert.deepEqual(nextAction(chain, version(), { ...opts, now }), {
      action: 'transition',
      dueAt: dueOn(30),
      ruleId: 'r1',
      storageClass: 'ARCHIVE',
    });
  });

  it('an expiration that is due wins over due transitions', () => {
    assert.deepEqual(nextAction(chain, version(), { ...opts, now: dueOn(100) }), {
      action: 'expire-current',
      dueAt: dueOn(90),
      ruleId: 'r1',
    });
  });

  it('expiration wins over a transition due at the same time; otherwise the earliest comes first', () => {
    const config = parse(
      doc(
        basicRule('<Transition><Days>5</Days><StorageClass>COLD</StorageClass></Transition>', 'move'),
        basicRule('<Expiration><Days>5</Days></Expiration>', 'drop'),
        basicRule('<Expiration><Days>9</Days></Expiration>', 'late'),
      ),
    );
    assert.deepEqual(nextAction(config, version(), opts), {
      action: 'expire-current',
      dueAt: dueOn(5),
      ruleId: 'drop',
    });
    const sooner = parse(
      doc(
        basicRule('<Transition><Days>2</Days><StorageClass>COLD</StorageClass></Transition>', 'move'),
        basicRule('<Expiration><Days>5</Days></Expiration>', 'drop'),
      ),
    );
    assert.equal(nextAction(sooner, version(), opts)?.action, 'transition');
  });

  describe('objects under 128 KiB', () => {
    const move = '<Transition><Days>1</Days><StorageClass>COLD</StorageClass></Transition>';
    it('do not transition by default, but still expire', () => {
      const config = parse(doc(basicRule(`${move}<Expiration><Days>3</Days></Expiration>`)));
      assert.equal(nextAction(config, version({ size: 128 * KiB - 1 }), opts)?.action, 'expire-current');
      assert.equal(nextAction(config, version({ size: 128 * KiB }), opts)?.action, 'transition');
    });
    it('transition when the rule filters on size, or in varies_by_storage_class mode', () => {
      const sized = parse(doc(filterRule('<ObjectSizeGreaterThan>0</ObjectSizeGreaterThan>', move)));
      assert.equal(nextAction(sized, version({ size: 10 }), opts)?.action, 'transition');
      const varies = parse(doc(basicRule(move)), { transitionMinSizeHeader: 'varies_by_storage_class' });
      assert.equal(nextAction(varies, version({ size: 10 }), opts)?.action, 'transition');
    });
  });
});
