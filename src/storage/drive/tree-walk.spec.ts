import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { META_FILE } from '../layout';
import type { WalkEntry } from './drive';
import { walkTree, type TreeSource } from './tree-walk';

/**
 * A volume on disk whose tree index is given: `metaDirs` are the directories the index says hold a %meta file
 * (the files exist on disk too). Every path the walk resolves is recorded, so a test sees what it touched.
 */
function source(root: string, metaDirs: string[]): TreeSource & { touched: string[] } {
  const touched: string[] = [];
  const below = (dir: string): boolean =>
    metaDirs.some((m) => (dir === '' ? m !== '' : m.startsWith(`${dir}/`)));
  return {
    touched,
    resolve: (volume, rel = '') => {
      touched.push(rel);
      return join(root, volume, rel);
    },
    mayHoldMetaFile: (_volume, dir) => metaDirs.includes(dir),
    mayHoldMetaFilesBelow: (_volume, dir) => below(dir),
  };
}

async function collect(walk: AsyncIterable<WalkEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of walk) out.push(e.prefix ? `${e.key} (prefix)` : e.key);
  return out;
}

describe('walkTree', () => {
  let root: string;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'tiergate-tree-walk-'));
    // a/y holds a %meta file; a/x, and b's object directories, hold none (their keys are in the metadata log).
    for (const dir of ['a/x/deep/er', 'a/y', 'b/p/q/r', 'b/s'])
      mkdirSync(join(root, 'vol', dir), { recursive: true });
    writeFileSync(join(root, 'vol', 'a/y', META_FILE), 'meta');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('yields a common prefix for a directory holding a %meta file below it, and reads it', async () => {
    const t = source(root, ['a/y']);
    assert.deepEqual(await collect(walkTree(t, 'vol', { recursive: false })), ['a/ (prefix)']);
    assert.deepEqual(await collect(walkTree(t, 'vol', { prefix: 'a/', recursive: true })), ['a/y']);
  });

  it('looking for content below a prefix, touches no directory the index rules out', async () => {
    // The index (stale, as it may be for a moment) says something below b may hold a %meta file; nothing below
    // b/p or b/s can. The walk then reads b's listing and nothing else of it.
    const t = source(root, ['a/y', 'b/gone']);
    assert.deepEqual(await collect(walkTree(t, 'vol', { recursive: false })), ['a/ (prefix)']);
    const underB = t.touched.filter((rel) => rel.startsWith('b/'));
    assert.deepEqual(underB, [], `paths probed below b: ${underB.join(', ')}`);
    assert.ok(!t.touched.some((rel) => rel.startsWith('a/x/')), 'nothing below a/x is probed either');
  });
});
