/**
 * pages.ts: page references describe their versions, and relayout moves a drive's records between its head and its
 * pages without ever changing what the drive holds: out-of-scope records stay where they are, unchanged pages keep
 * their files, the head stays within HEAD_MAX, and a random sequence of writes, deletes and updates under random
 * scopes always leaves exactly the expected versions (checked against a model).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { objectVersion } from '../../../test/fixtures/object-version';
import { randomInt, seededRandom } from '../../../test/fixtures/prng';
import type { MetaFile } from './meta-file';
import {
  ALL_VERSIONS,
  HEAD_KEEP,
  HEAD_MAX,
  headHorizon,
  inScope,
  isNewer,
  mayHold,
  PAGE_MAX,
  pageRefFor,
  relayout,
  type Layout,
  type MetaScope,
  type PageRef,
  type StoredMeta,
} from './pages';
import { compareVersions } from './quorum';
import { versionSignature, type ObjectVersion } from './version';

/** Version number i: id `v000042`-style (text order = age), modTime 1000 + i, an inline frame named after it. */
function ver(i: number, over: Partial<ObjectVersion> = {}): ObjectVersion {
  const id = `v${String(i).padStart(6, '0')}`;
  return objectVersion({ versionId: id, modTime: 1000 + i, dataDir: `dd-${id}`, ...over });
}

/** A file holding these versions newest first, each with a one-byte inline frame. */
function file(versions: ObjectVersion[]): MetaFile {
  const sorted = [...versions].sort(compareVersions);
  return { versions: sorted, inline: new Map(sorted.map((v) => [v.dataDir, Buffer.from(v.versionId)])) };
}

function counter(): () => string {
  let n = 0;
  return () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
}

/** Applies a layout to a drive modelled as a head plus page files by id. */
function apply(files: Map<string, MetaFile>, layout: Layout): MetaFile {
  for (const w of layout.write) {
    assert.ok(!files.has(w.id), `page ${w.id} written twice`);
    files.set(w.id, w.meta);
  }
  for (const id of layout.drop) assert.ok(files.delete(id), `dropped page ${id} did not exist`);
  return layout.head;
}

/** Every version a drive holds (head plus listed pages), by signature, checking each page against its ref. */
function holdings(head: MetaFile, files: Map<string, MetaFile>): string[] {
  const out = head.versions.map(versionSignature);
  for (const ref of head.pages ?? []) {
    const page = files.get(ref.id);
    assert.ok(page, `listed page ${ref.id} exists`);
    assert.deepEqual(ref, pageRefFor(ref.id, page.versions), 'the reference describes its page');
    assert.ok(page.versions.length <= PAGE_MAX);
    for (const v of page.versions) assert.ok(page.inline.has(v.dataDir), 'inline frames move with records');
    out.push(...page.versions.map(versionSignature));
  }
  for (const v of head.versions) assert.ok(head.inline.has(v.dataDir));
  return out.sort();
}

describe('page references', () => {
  it('describe the newest version, the id range without null, the null flag and data dirs', () => {
    const ref = pageRefFor('p', file([ver(3), ver(9), ver(5, { versionId: 'null' })]).versions);
    assert.deepEqual(ref, {
      id: 'p',
      count: 3,
      newest: [1009, 'v000009'],
      ids: ['v000003', 'v000009'],
      hasNull: true,
      dataDirs: false,
    });
    assert.equal(pageRefFor('q', [ver(1, { versionId: 'null', inline: false })]).ids, null);
    assert.equal(pageRefFor('q', [ver(1, { inline: false })]).dataDirs, true);
    assert.equal(pageRefFor('q', [ver(1, { inline: false, type: 'delete-marker' })]).dataDirs, false);
  });

  it('may hold exactly the ids within their range, and null only when flagged', () => {
    const ref = pageRefFor('p', [ver(9), ver(3)]);
    assert.ok(mayHold(ref, 'v000003') && mayHold(ref, 'v000005') && mayHold(ref, 'v000009'));
    assert.ok(!mayHold(ref, 'v000002') && !mayHold(ref, 'v000010') && !mayHold(ref, 'null'));
    assert.ok(mayHold(pageRefFor('n', [ver(1, { versionId: 'null' })]), 'null'));
  });

  it('order positions newest first, ties by version id, and a head horizon is its newest page', () => {
    assert.ok(isNewer({ modTime: 2, versionId: 'a' }, [1, 'z']));
    assert.ok(isNewer({ modTime: 1, versionId: 'b' }, [1, 'a']));
    assert.ok(!isNewer({ modTime: 1, versionId: 'a' }, [1, 'a']));
    const refs: PageRef[] = [pageRefFor('a', [ver(4)]), pageRefFor('b', [ver(7)]), pageRefFor('c', [ver(2)])];
    assert.deepEqual(headHorizon({ versions: [], inline: new Map(), pages: refs }), [1007, 'v000007']);
    assert.equal(headHorizon({ versions: [], inline: new Map() }), undefined);
  });

  it('put a version in scope when newer than the horizon or named', () => {
    const scope: MetaScope = { all: false, above: [1005, 'v000005'], ids: new Set(['v000001']) };
    assert.deepEqual(
      [1, 2, 5, 6].map((i) => inScope(scope, ver(i))),
      [true, false, false, true],
    );
    assert.ok(inScope(ALL_VERSIONS, ver(1)));
  });
});

describe('relayout', () => {
  const range = (from: number, to: number): ObjectVersion[] =>
    Array.from({ length: to - from + 1 }, (_, i) => ver(from + i));

  it('writes a small state as the head alone', () => {
    const desired = file(range(1, HEAD_MAX));
    const layout = relayout(null, ALL_VERSIONS, desired, { newId: counter() });
    assert.equal(layout.head, desired);
    assert.deepEqual([layout.write, layout.drop], [[], []]);
  });

  it('spills all but the newest HEAD_KEEP versions, with their inline frames, into one page', () => {
    const layout = relayout(null, ALL_VERSIONS, file(range(1, HEAD_MAX + 1)), { newId: counter() });
    assert.deepEqual(
      layout.head.versions.map((v) => v.modTime),
      range(HEAD_MAX + 2 - HEAD_KEEP, HEAD_MAX + 1)
        .reverse()
        .map((v) => v.modTime),
    );
    assert.equal(layout.write.length, 1);
    assert.equal(layout.write[0].meta.versions.length, HEAD_MAX + 1 - HEAD_KEEP);
    assert.deepEqual(layout.head.pages, [pageRefFor(layout.write[0].id, layout.write[0].meta.versions)]);
    const files = new Map<string, MetaFile>();
    assert.deepEqual(
      holdings(apply(files, layout), files),
      range(1, HEAD_MAX + 1)
        .map(versionSignature)
        .sort(),
    );
  });

  it('merges a spill into the newest page it has read, and starts a new page when it has not', () => {
    const page = file(range(1, 100));
    const pageRef = pageRefFor('old', page.versions);
    const head: MetaFile = { ...file(range(101, 100 + HEAD_MAX)), pages: [pageRef] };
    const desired = file(range(101, 101 + HEAD_MAX));
    const scope: MetaScope = { all: false, above: pageRef.newest, ids: new Set() };

    const read: StoredMeta = { head, pages: new Map([['old', page]]) };
    const merged = relayout(read, scope, desired, { newId: counter() });
    assert.deepEqual(merged.drop, ['old']);
    assert.equal(merged.write.length, 1);
    assert.equal(merged.write[0].meta.versions.length, 100 + HEAD_MAX + 1 - HEAD_KEEP);
    assert.equal(merged.head.pages?.length, 1);

    const unread = relayout({ head, pages: new Map() }, scope, desired, { newId: counter() });
    assert.deepEqual(unread.drop, []);
    assert.equal(unread.write.length, 1);
    assert.deepEqual(
      unread.head.pages?.map((r) => r.id),
      [unread.write[0].id, 'old'],
      'the new page is listed before the older one',
    );
  });

  it('never merges a page past PAGE_MAX, and cuts a large spill into pages of at most PAGE_MAX', () => {
    const big = relayout(null, ALL_VERSIONS, file(range(1, 2 * PAGE_MAX + 50)), { newId: counter() });
    assert.deepEqual(
      big.write.map((w) => w.meta.versions.length),
      [PAGE_MAX, PAGE_MAX, 50 - HEAD_KEEP],
    );
    const full = file(range(1, PAGE_MAX));
    const ref = pageRefFor('full', full.versions);
    const next = relayout(
      { head: { ...file([]), pages: [ref] }, pages: new Map([['full', full]]) },
      { all: false, above: ref.newest, ids: new Set() },
      file(range(PAGE_MAX + 1, PAGE_MAX + HEAD_MAX + 1)),
      { newId: counter() },
    );
    assert.deepEqual(next.drop, []);
    assert.equal(next.write.length, 1);
    assert.equal(next.head.pages?.length, 2);
  });

  it('keeps out-of-scope records and unread pages as they are', () => {
    const page = file(range(1, 50));
    const ref = pageRefFor('p1', page.versions);
    // The head also holds an old record below the horizon (a drive that spilled less than the others, say).
    const head: MetaFile = { ...file([ver(0), ...range(51, 60)]), pages: [ref] };
    const scope: MetaScope = { all: false, above: [1055, 'v000055'], ids: new Set() };
    const desired = file(range(56, 61));
    const layout = relayout({ head, pages: new Map() }, scope, desired, { newId: counter() });
    assert.deepEqual([layout.write, layout.drop], [[], []]);
    assert.deepEqual(layout.head.pages, [ref]);
    assert.deepEqual(
      layout.head.versions.map((v) => v.modTime),
      [61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 0].map((i) => 1000 + i),
    );
  });

  it('rewrites a read page only when its in-scope records changed, and drops it once empty', () => {
    const page = file(range(1, 50));
    const ref = pageRefFor('p1', page.versions);
    const head: MetaFile = { ...file(range(51, 60)), pages: [ref] };
    const stored = (): StoredMeta => ({ head, pages: new Map([['p1', page]]) });
    const scope: MetaScope = { all: false, above: ref.newest, ids: new Set(['v000020']) };
    const inScopeNow = file([...range(51, 60), ver(20)]);

    const same = relayout(stored(), scope, inScopeNow, { newId: counter() });
    assert.deepEqual([same.write, same.drop], [[], []], 'an unchanged page keeps its file');

    const pending = file([...range(51, 60), ver(20, { state: 'pending-delete' })]);
    const marked = relayout(stored(), scope, pending, { newId: counter() });
    assert.deepEqual(marked.drop, ['p1']);
    assert.equal(marked.write[0].meta.versions.find((v) => v.modTime === 1020)?.state, 'pending-delete');
    assert.equal(marked.head.versions.length, 10, 'a record whose version sits in a page stays in it');

    const dropped = relayout(stored(), scope, file(range(51, 60)), { newId: counter() });
    assert.equal(dropped.write[0].meta.versions.length, 49);

    const updated = relayout(stored(), scope, file([...range(51, 60), ver(20, { revision: 1 })]), {
      newId: counter(),
    });
    assert.ok(
      updated.head.versions.some((v) => v.modTime === 1020 && v.revision === 1),
      'a new revision is a new record: it goes to the head',
    );
    assert.equal(updated.write[0].meta.versions.length, 49);

    const one = file([ver(1)]);
    const oneRef = pageRefFor('p0', one.versions);
    const emptied = relayout(
      { head: { ...file([]), pages: [oneRef] }, pages: new Map([['p0', one]]) },
      ALL_VERSIONS,
      file([]),
      { newId: counter() },
    );
    assert.deepEqual([emptied.write, emptied.drop, emptied.head.pages], [[], ['p0'], undefined]);
  });

  it('keeps a reference to an unreadable page unless told to drop it', () => {
    const ref = pageRefFor('bad', [ver(1)]);
    const stored: StoredMeta = {
      head: { ...file([ver(2)]), pages: [ref] },
      pages: new Map([['bad', new Error('rot')]]),
    };
    const kept = relayout(stored, ALL_VERSIONS, file([ver(2)]), { newId: counter() });
    assert.deepEqual([kept.head.pages, kept.drop], [[ref], []]);
    const healed = relayout(stored, ALL_VERSIONS, file([ver(1), ver(2)]), {
      newId: counter(),
      dropUnreadable: true,
    });
    assert.deepEqual([healed.head.pages, healed.drop, healed.head.versions.length], [undefined, ['bad'], 2]);
  });
});

describe('relayout against a model', () => {
  it('keeps exactly the expected versions through random writes, deletes and updates', () => {
    const seed = Number(process.env.PAGES_SEED ?? Date.now() % 1e9);
    const rand = seededRandom(seed);
    const msg = `seed ${seed} (rerun with PAGES_SEED=${seed})`;
    const files = new Map<string, MetaFile>();
    const expected = new Map<string, ObjectVersion>();
    let head: MetaFile = file([]);
    let next = 1;
    const newId = counter();
    for (let step = 0; step < 3000; step++) {
      const ids = [...expected.keys()];
      const roll = rand();
      let named: string | undefined;
      if (roll < 0.7 || ids.length === 0) {
        const v = ver(next++);
        expected.set(v.versionId, v);
      } else if (roll < 0.85) {
        named = ids[randomInt(rand, 0, ids.length - 1)];
        expected.delete(named);
      } else {
        named = ids[randomInt(rand, 0, ids.length - 1)];
        const cur = expected.get(named)!;
        expected.set(named, { ...cur, revision: (cur.revision ?? 0) + 1 });
      }
      // The operation reads its scope: everything now and then, else the head plus the version it names.
      const horizon = headHorizon(head);
      const scope: MetaScope =
        rand() < 0.1 || !horizon
          ? ALL_VERSIONS
          : { all: false, above: horizon, ids: new Set(named ? [named] : []) };
      const pages = new Map<string, MetaFile | Error>();
      for (const ref of head.pages ?? []) {
        if (scope.all || (named !== undefined && mayHold(ref, named))) pages.set(ref.id, files.get(ref.id)!);
      }
      const desired = file([...expected.values()].filter((v) => inScope(scope, v)));
      head = apply(files, relayout({ head, pages }, scope, desired, { newId }));
      assert.ok(head.versions.length <= HEAD_MAX, `${msg}: head of ${head.versions.length} at step ${step}`);
      assert.deepEqual(
        holdings(head, files),
        [...expected.values()].map(versionSignature).sort(),
        `${msg}: step ${step}`,
      );
      assert.equal(files.size, head.pages?.length ?? 0, `${msg}: no unlisted page files`);
    }
    assert.ok((head.pages?.length ?? 0) > 1, 'the run reached several pages');
  });
});
