import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { Secret } from './secret';

describe('Secret', () => {
  const secret = new Secret('hunter2hunter2');

  it('reveals the value on request', () => assert.equal(secret.reveal(), 'hunter2hunter2'));

  it('never prints the value', () => {
    for (const text of [String(secret), JSON.stringify({ secret }), inspect({ secret })]) {
      assert.ok(!text.includes('hunter2'), text);
      assert.match(text, /redacted/);
    }
  });

  it('keeps buffers private: reveal returns a copy', () => {
    const key = new Secret(Buffer.alloc(32, 7));
    key.reveal().fill(0);
    assert.deepEqual(key.reveal(), Buffer.alloc(32, 7));
  });
});
