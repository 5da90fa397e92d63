import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { faultyPool, readAll, streamOf, tempDrives } from '../../test/fixtures/temp-drives';

describe('reading pins the data dir against a concurrent overwrite', () => {
  const drives = tempDrives(4, 'set-read');
  after(() => drives.cleanup());

  const dataDirs = (): string[] =>
    readdirSync(join(drives.paths[0], 'bucket', 'k')).filter((name) => name.startsWith('%d.'));

  it('keeps the old data until the reader finishes, then removes it', async () => {
    const { pool } = await faultyPool(drives.paths);
    try {
      await pool.makeBucket('bucket');
      const first = Buffer.alloc(2 << 20, 1);
      await pool.putObject('bucket', 'k', streamOf(first));
      const reading = await pool.getObject('bucket', 'k');
      await pool.putObject('bucket', 'k', streamOf(Buffer.alloc(2 << 20, 2)));
      assert.equal(dataDirs().length, 2, 'the overwritten data stays while a reader holds it');
      assert.ok((await readAll(reading.stream)).equals(first), 'the reader still gets the old bytes');
      // The deferred delete starts when the reader lets go; wait (bounded) for it to land.
      for (let i = 0; i < 500 && dataDirs().length > 1; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(dataDirs().length, 1, 'the old data is removed once the reader is done');
    } finally {
      await pool.shutdown();
    }
  });

  it('unpins a stream destroyed before its first read', async () => {
    const { pool } = await faultyPool(drives.paths);
    try {
      const reading = await pool.getObject('bucket', 'k');
      reading.stream.destroy();
      await once(reading.stream, 'close');
      await pool.putObject('bucket', 'k', streamOf(Buffer.alloc(2 << 20, 3)));
      assert.equal(dataDirs().length, 1, 'no data dir is left pinned by the abandoned stream');
    } finally {
      await pool.shutdown();
    }
  });
});
