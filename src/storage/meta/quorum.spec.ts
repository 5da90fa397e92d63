/**
 * quorum.ts `resolve`: tables of what each drive of a set says about one object, and which versions are found,
 * gone or undecided, for a 4+2 set (writeQuorum 4) and a 2+2 set (writeQuorum 3, k == m).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { objectVersion } from '../../../test/fixtures/object-version';
import { compareVersions, resolve, type DriveMeta } from './quorum';
import { versionSignature, type ObjectVersion } from './version';

/** Named versions: v1 is an object, v2 a newer version with the same id (an overwrite), w another id. */
const v1 = objectVersion({ versionId: 'null', modTime: 1000, dataDir: 'data-1' });
const v2 = objectVersion({ versionId: 'null', modTime: 2000, dataDir: 'data-2', size: 7, etag: 'e2' });
const w = objectVersion({ versionId: 'w', modTime: 500, dataDir: 'data-w' });
const names = new Map<string, string>([
  [versionSignature(v1), 'v1'],
  [versionSignature(v2), 'v2'],
  [versionSignature(w), 'w'],
]);

/** v's record marked pending-delete, replaced by `by` (omit for a plain delete). */
function pending(v: ObjectVersion, by?: ObjectVersion): ObjectVersion {
  return { ...v, state: 'pending-delete', ...(by ? { replacedBy: versionSignature(by) } : {}) };
}

/** One drive's metadata file. */
const has = (...versions: ObjectVersion[]): DriveMeta => ({ versions, inline: new Map() });
/** A drive that answered "no metadata file". */
const NONE: DriveMeta = null;
/** A drive that could not answer (offline). */
const OFF = (): DriveMeta => Object.assign(new Error('drive offline'), { code: 'DriveOffline' });
/** A drive whose metadata file failed its checksum. */
const CORRUPT = (): DriveMeta => Object.assign(new Error('checksum mismatch'), { code: 'FileCorrupt' });
const times = (count: number, make: () => DriveMeta): DriveMeta[] => Array.from({ length: count }, make);

interface Case {
  name: string;
  metas: DriveMeta[];
  found: string[];
  gone?: string[];
  undecided?: string[];
  inconsistent: boolean;
  answered: number;
}

function check(c: Case, k: number, writeQuorum: number): void {
  const res = resolve(c.metas, k, writeQuorum);
  const label = (sig: string): string => names.get(sig) ?? sig;
  assert.deepEqual(
    res.versions.map((r) => label(r.signature)),
    c.found,
    'found',
  );
  assert.deepEqual([...res.gone].map(label).sort(), [...(c.gone ?? [])].sort(), 'gone');
  assert.deepEqual(
    res.undecided.map((r) => label(r.signature)).sort(),
    [...(c.undecided ?? [])].sort(),
    'undecided',
  );
  assert.equal(res.answered, c.answered, 'answered');
  assert.equal(res.inconsistent, c.inconsistent, 'inconsistent');
  // Found versions come back in their committed form, whatever state the copies were in.
  for (const r of res.versions) {
    assert.equal(r.version.state, 'live');
    assert.equal(r.version.replacedBy, undefined);
  }
}

describe('resolve over 6 drives (k=4, m=2, writeQuorum 4)', () => {
  const K = 4;
  const WQ = 4;
  const cases: Case[] = [
    {
      name: 'all drives agree',
      metas: times(6, () => has(v1)),
      found: ['v1'],
      inconsistent: false,
      answered: 6,
    },
    {
      name: 'version on k drives, the rest absent: found',
      metas: [...times(4, () => has(v1)), NONE, NONE],
      found: ['v1'],
      inconsistent: true,
      answered: 6,
    },
    {
      name: 'version on k drives, the rest offline: found and consistent',
      metas: [...times(4, () => has(v1)), OFF(), OFF()],
      found: ['v1'],
      inconsistent: false,
      answered: 4,
    },
    {
      name: 'version on k-1 drives, the rest absent: gone',
      metas: [...times(3, () => has(v1)), NONE, NONE, NONE],
      found: [],
      gone: ['v1'],
      inconsistent: true,
      answered: 6,
    },
    {
      name: 'version on 1 drive, 3 absent, 2 offline: gone (3 absent > n - writeQuorum)',
      metas: [has(v1), NONE, NONE, NONE, OFF(), OFF()],
      found: [],
      gone: ['v1'],
      inconsistent: true,
      answered: 4,
    },
    {
      name: 'version on 3 drives, the rest offline: undecided',
      metas: [...times(3, () => has(v1)), OFF(), OFF(), OFF()],
      found: [],
      undecided: ['v1'],
      inconsistent: true,
      answered: 3,
    },
    {
      name: 'version on 1 drive, 2 absent, 3 offline: undecided (2 absent could be the ones it skipped)',
      metas: [has(v1), NONE, NONE, OFF(), OFF(), OFF()],
      found: [],
      undecided: ['v1'],
      inconsistent: true,
      answered: 3,
    },
    {
      name: 'pending-delete replaced by a found version: only the replacement',
      metas: times(6, () => has(v2, pending(v1, v2))),
      found: ['v2'],
      gone: ['v1'],
      inconsistent: true,
      answered: 6,
    },
    {
      name: 'overwrite committed on k drives, old record untouched on 2: the replacement',
      metas: [...times(4, () => has(v2, pending(v1, v2))), has(v1), has(v1)],
      found: ['v2'],
      gone: ['v1'],
      inconsistent: true,
      answered: 6,
    },
    {
      name: 'crash mid-overwrite (replacement on 3 < k drives): the old version rolls back',
      metas: [...times(3, () => has(v2, pending(v1, v2))), has(v1), has(v1), has(v1)],
      found: ['v1'],
      gone: ['v2'],
      inconsistent: true,
      answered: 6,
    },
    {
      name: 'crash mid-overwrite with the replacement on 1 drive and 2 drives offline: the old version',
      metas: [has(v2, pending(v1, v2)), has(v1), has(v1), has(v1), OFF(), OFF()],
      found: ['v1'],
      gone: ['v2'],
      inconsistent: true,
      answered: 4,
    },
    {
      name: 'plain pending-delete on n-wq+1 = 3 drives: gone',
      metas: [...times(3, () => has(pending(v1))), ...times(3, () => has(v1))],
      found: [],
      gone: ['v1'],
      inconsistent: true,
      answered: 6,
    },
    {
      name: 'plain pending-delete on 2 drives (delete never reached quorum): still found',
      metas: [...times(2, () => has(pending(v1))), ...times(4, () => has(v1))],
      found: ['v1'],
      inconsistent: true,
      answered: 6,
    },
    {
      name: 'two found records of one version id: the newest is kept, the other is gone',
      metas: [has(v1), has(v1), has(v2), has(v2), has(v2, v1), has(v2, v1)],
      found: ['v2'],
      gone: ['v1'],
      inconsistent: true,
      answered: 6,
    },
    {
      name: 'corrupt files do not count as answered, but flag the object for heal (4 good copies: found)',
      metas: [...times(4, () => has(v1)), CORRUPT(), CORRUPT()],
      found: ['v1'],
      inconsistent: true,
      answered: 4,
    },
    {
      name: 'corrupt files do not count as absent either (3 copies, 3 corrupt: undecided, not gone)',
      metas: [...times(3, () => has(v1)), CORRUPT(), CORRUPT(), CORRUPT()],
      found: [],
      undecided: ['v1'],
      inconsistent: true,
      answered: 3,
    },
    {
      name: 'a stale drive missing the newest version: both found, inconsistent',
      metas: [...times(5, () => has(v2, w)), has(w)],
      found: ['v2', 'w'],
      inconsistent: true,
      answered: 6,
    },
    {
      name: 'a drive with a crash leftover of another version: inconsistent',
      metas: [...times(5, () => has(v1)), has(w, v1)],
      found: ['v1'],
      gone: ['w'],
      inconsistent: true,
      answered: 6,
    },
    {
      name: 'no drive has the object',
      metas: times(6, () => NONE),
      found: [],
      inconsistent: false,
      answered: 6,
    },
  ];
  for (const c of cases) it(c.name, () => check(c, K, WQ));
});

describe('resolve over 4 drives (k=2, m=2, writeQuorum 3)', () => {
  const K = 2;
  const WQ = 3;
  const cases: Case[] = [
    {
      name: 'all drives agree',
      metas: times(4, () => has(v1)),
      found: ['v1'],
      inconsistent: false,
      answered: 4,
    },
    {
      name: 'version on k drives, the rest absent: found (found wins over gone when k == m)',
      metas: [has(v1), has(v1), NONE, NONE],
      found: ['v1'],
      inconsistent: true,
      answered: 4,
    },
    {
      name: 'version on 1 drive, the rest absent: gone',
      metas: [has(v1), NONE, NONE, NONE],
      found: [],
      gone: ['v1'],
      inconsistent: true,
      answered: 4,
    },
    {
      name: 'version on 1 drive, 1 absent, 2 offline: undecided',
      metas: [has(v1), NONE, OFF(), OFF()],
      found: [],
      undecided: ['v1'],
      inconsistent: true,
      answered: 2,
    },
    {
      name: 'version on 1 drive, 3 offline: undecided',
      metas: [has(v1), OFF(), OFF(), OFF()],
      found: [],
      undecided: ['v1'],
      inconsistent: true,
      answered: 1,
    },
    {
      name: 'pending-delete replaced by a found version: only the replacement',
      metas: times(4, () => has(v2, pending(v1, v2))),
      found: ['v2'],
      gone: ['v1'],
      inconsistent: true,
      answered: 4,
    },
    {
      name: 'crash mid-overwrite (replacement on 1 < k drives): the old version rolls back',
      metas: [has(v2, pending(v1, v2)), has(v1), has(v1), has(v1)],
      found: ['v1'],
      gone: ['v2'],
      inconsistent: true,
      answered: 4,
    },
    {
      name: 'plain pending-delete on writeQuorum drives: gone',
      metas: [has(pending(v1)), has(pending(v1)), has(pending(v1)), has(v1)],
      found: [],
      gone: ['v1'],
      inconsistent: true,
      answered: 4,
    },
    {
      // n - wq + 1 = 2 marks leave k live copies: a tie, which keeps the data (the delete was never acknowledged).
      name: 'plain pending-delete on n-wq+1 = 2 drives: a tie, still found',
      metas: [has(pending(v1)), has(pending(v1)), has(v1), has(v1)],
      found: ['v1'],
      inconsistent: true,
      answered: 4,
    },
    {
      name: 'overwrite on half the drives (both copies reach k): the newest is kept',
      metas: [has(v2, pending(v1, v2)), has(v2, pending(v1, v2)), has(v1), has(v1)],
      found: ['v2'],
      gone: ['v1'],
      inconsistent: true,
      answered: 4,
    },
    {
      name: 'two same-id versions on disjoint halves: the newest is kept',
      metas: [has(v1), has(v1), has(v2), has(v2)],
      found: ['v2'],
      gone: ['v1'],
      inconsistent: true,
      answered: 4,
    },
    {
      name: 'corrupt files do not count as answered, but flag the object for heal',
      metas: [has(v1), has(v1), CORRUPT(), CORRUPT()],
      found: ['v1'],
      inconsistent: true,
      answered: 2,
    },
    {
      name: 'one copy, one absent, two corrupt: undecided',
      metas: [has(v1), NONE, CORRUPT(), CORRUPT()],
      found: [],
      undecided: ['v1'],
      inconsistent: true,
      answered: 2,
    },
    {
      name: 'different versions agree: both found, newest first',
      metas: times(4, () => has(v2, w)),
      found: ['v2', 'w'],
      inconsistent: false,
      answered: 4,
    },
  ];
  for (const c of cases) it(c.name, () => check(c, K, WQ));
});

describe('resolve details', () => {
  it('reports which drives hold each version', () => {
    const res = resolve([has(v1), NONE, has(v1), OFF(), has(v1), has(v1)], 4, 4);
    assert.deepEqual(res.versions[0].holders, [true, false, true, false, true, true]);
  });

  it('returns the live record when the first copy seen is pending-delete', () => {
    const res = resolve([has(pending(v1, v2)), has(v1), has(v1), has(v1)], 2, 3);
    assert.deepEqual(res.versions[0].version, v1);
  });

  it('counts a version listed twice on one drive once', () => {
    const res = resolve([has(v1, v1, v1), NONE, NONE, NONE], 2, 3);
    assert.deepEqual([...res.gone], [versionSignature(v1)]);
  });

  it('tells metadata revisions of one version apart', () => {
    const r1 = { ...v1, revision: 1, tags: { a: '1' } };
    const res = resolve([has(r1), has(r1), has(r1), has(v1)], 2, 3);
    assert.deepEqual(
      res.versions.map((r) => r.version.revision),
      [1],
    );
    assert.equal(res.gone.size, 1);
  });

  it('keeps the later revision when two revisions of one version are both found (k == m, a crashed release)', () => {
    const remote = { ...v1, revision: 1, remote: true, dataDir: 'data-r' };
    const released = (): DriveMeta => has(pending(v1, remote), remote);
    for (const metas of [
      [has(v1), has(v1), released(), released()],
      [released(), released(), has(v1), has(v1)],
    ]) {
      const res = resolve(metas, 2, 3);
      assert.deepEqual(
        res.versions.map((r) => [r.version.revision, r.version.remote]),
        [[1, true]],
        'the released record wins, wherever its drives are',
      );
      assert.ok(res.gone.has(versionSignature(v1)));
    }
  });

  it('tells a remote record from the local one it replaced', () => {
    assert.notEqual(versionSignature({ ...v1, remote: true }), versionSignature(v1));
    assert.equal(versionSignature({ ...v1, remote: undefined }), versionSignature(v1));
  });

  it('orders versions newest first, then by version id descending', () => {
    const a = objectVersion({ versionId: 'a', modTime: 10 });
    const b = objectVersion({ versionId: 'b', modTime: 10 });
    const c = objectVersion({ versionId: 'c', modTime: 20 });
    assert.deepEqual(
      [a, b, c].sort(compareVersions).map((v) => v.versionId),
      ['c', 'b', 'a'],
    );
    const res = resolve(
      times(4, () => has(a, b, c)),
      2,
      3,
    );
    assert.deepEqual(
      res.versions.map((r) => r.version.versionId),
      ['c', 'b', 'a'],
    );
  });
});
