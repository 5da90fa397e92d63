/**
 * TreeMetaIndex: after its background walk, it knows exactly which object directories hold a %meta file (not
 * counting anything inside data directories), answers "may hold" for everything until the walk is done, and
 * follows the additions and removals it is told about.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDrives } from '../../../test/fixtures/temp-drives';
import { TreeMetaIndex } from './tree-meta-index';

/** Waits (bounded) until the index's walk of `volume` is done: an absent directory then stops "maybe" holding. */
async function walked(index: TreeMetaIndex, volume: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (!index.mayHold(volume, '\0never')) return;
    await sleep(5);
  }
  assert.fail(`the walk of ${volume} did not finish`);
}

describe('TreeMetaIndex', () => {
  const tmp = tempDrives(1, 'tree-meta-index');
  const root = tmp.paths[0];
  after(() => tmp.cleanup());
  const index = new TreeMetaIndex((volume) => join(root, volume));

  const file = (rel: string): void => {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), 'x');
  };
  const holding = ['a', 'a/b/c', 'deep/er/still', '%h.0123/%x'];
  for (const dir of holding) file(`vol/${dir}/%meta`);
  file('vol/a/%d.1234/%meta'); // inside a data directory: not an object
  file('vol/only-data/%d.5678/part.1');
  file('vol/a/b/not-meta');

  it('answers "may hold" for everything until its walk is done, then exactly', async () => {
    assert.equal(index.mayHold('vol', 'nowhere'), true, 'unknown before the walk finished');
    await walked(index, 'vol');
    for (const dir of holding) assert.equal(index.mayHold('vol', dir), true, dir);
    for (const dir of ['', 'a/b', 'a/%d.1234', 'only-data', 'deep/er', 'nowhere', 'a/b/not-meta']) {
      assert.equal(index.mayHold('vol', dir), false, dir);
    }
  });

  it('knows which directories hold a %meta file somewhere below them', async () => {
    await walked(index, 'vol');
    for (const dir of ['', 'a', 'a/b', 'deep', 'deep/er', '%h.0123']) {
      assert.equal(index.mayHoldBelow('vol', dir), true, dir);
    }
    for (const dir of ['a/b/c', 'deep/er/still', 'only-data', 'a/%d.1234', 'nowhere', '%h.0123/%x']) {
      assert.equal(index.mayHoldBelow('vol', dir), false, dir);
    }
    // Counted, not flagged: 'a' keeps a %meta below it until the last one there goes.
    index.adding('vol', 'a/b/d');
    index.adding('vol', 'a/b/d'); // told twice: still one
    index.removed('vol', 'a/b/c');
    assert.equal(index.mayHoldBelow('vol', 'a/b'), true, 'a/b/d is left');
    index.removed('vol', 'a/b/d');
    index.removed('vol', 'a/b/d'); // told twice: no harm
    assert.equal(index.mayHoldBelow('vol', 'a/b'), false);
    assert.equal(index.mayHoldBelow('vol', 'a'), false, "a's own %meta is not below it");
    assert.equal(index.mayHold('vol', 'a'), true);
    assert.equal(index.mayHoldBelow('vol', ''), true, 'deep/er/still and %h.0123/%x remain');
    index.forget('vol'); // back to what is on disk for the next test
    await walked(index, 'vol');
    assert.equal(index.mayHoldBelow('vol', 'a/b'), true, 'a/b/c is still on disk');
  });

  it('follows additions and removals, and walks a forgotten volume again', async () => {
    index.adding('vol', 'new/one');
    assert.equal(index.mayHold('vol', 'new/one'), true);
    index.removed('vol', 'a/b/c');
    assert.equal(index.mayHold('vol', 'a/b/c'), false);
    file('vol/late/%meta'); // behind the index's back: seen only after a new walk
    assert.equal(index.mayHold('vol', 'late'), false);
    index.forget('vol');
    await walked(index, 'vol');
    assert.equal(index.mayHold('vol', 'late'), true);
    assert.equal(index.mayHold('vol', 'a/b/c'), true, 'the file is still on disk');
  });

  it('treats a volume that does not exist as holding nothing', async () => {
    await walked(index, 'missing');
    assert.equal(index.mayHold('missing', 'x'), false);
    index.adding('missing', 'x');
    assert.equal(index.mayHold('missing', 'x'), true);
  });
});
