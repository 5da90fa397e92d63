/** The local KMS's own format: layout, key ids, refusals with the right code and a message that helps. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { KmsError } from './kms-provider';
import { LocalKms } from './local-kms';

const CONTEXT = { bucket: 'b', key: 'k', version: '1' };

function refused(code: string, message: RegExp) {
  return (err: unknown) => err instanceof KmsError && err.code === code && message.test(err.message);
}

describe('LocalKms', () => {
  it('derives its key id from the master key fingerprint unless one is configured', () => {
    const master = Buffer.alloc(32, 1);
    const kms = LocalKms.fromMasterKey(master);
    assert.match(kms.keyId, /^local-[0-9a-f]{16}$/);
    assert.equal(kms.keyId, `local-${kms.fingerprint}`);
    assert.equal(LocalKms.fromMasterKey(Buffer.from(master)).keyId, kms.keyId, 'deterministic');
    assert.notEqual(LocalKms.fromMasterKey(Buffer.alloc(32, 2)).keyId, kms.keyId);
    assert.equal(LocalKms.fromMasterKey(master, 'prod-1').keyId, 'prod-1');
  });

  it('refuses master keys that are not 256 bits and key ids that do not fit', () => {
    assert.throws(() => LocalKms.fromMasterKey(Buffer.alloc(16)), refused('InvalidRequest', /32 bytes/));
    assert.throws(
      () => LocalKms.fromMasterKey(Buffer.alloc(32), 'x'.repeat(256)),
      refused('InvalidRequest', /1-255/),
    );
    assert.throws(
      () => LocalKms.fromMasterKey(Buffer.alloc(32), 'has space'),
      refused('InvalidRequest', /printable/),
    );
  });

  it('writes the documented sealed key layout', async () => {
    const kms = LocalKms.fromMasterKey(randomBytes(32), 'key-1');
    const { sealed, keyId } = await kms.generateDataKey(CONTEXT);
    assert.equal(keyId, 'key-1');
    assert.equal(sealed.length, 14 + 5 + 16 + 32 + 16);
    assert.equal(sealed.subarray(0, 4).toString('latin1'), 'TGLK');
    assert.equal(sealed[4], 1);
    assert.equal(sealed.subarray(5, 13).toString('hex'), kms.fingerprint);
    assert.equal(sealed[13], 5);
    assert.equal(sealed.subarray(14, 19).toString('latin1'), 'key-1');
  });

  it('survives a restart with the same master key', async () => {
    const master = randomBytes(32);
    const key = await LocalKms.fromMasterKey(master).generateDataKey(CONTEXT);
    const opened = await LocalKms.fromMasterKey(master).decrypt(key, CONTEXT);
    assert.ok(opened.plaintext.equals(key.plaintext));
  });

  it('opens keys sealed before the key id was configured (the master key decides, the id is a name)', async () => {
    const master = randomBytes(32);
    const key = await LocalKms.fromMasterKey(master).generateDataKey(CONTEXT);
    assert.ok(
      (await LocalKms.fromMasterKey(master, 'renamed').decrypt(key, CONTEXT)).plaintext.equals(key.plaintext),
    );
  });

  it('names both fingerprints when a sealed key belongs to another master key', async () => {
    const ours = LocalKms.fromMasterKey(randomBytes(32));
    const theirs = LocalKms.fromMasterKey(randomBytes(32));
    const key = await theirs.generateDataKey(CONTEXT);
    await assert.rejects(
      ours.decrypt(key, CONTEXT),
      refused(
        'KeyNotFound',
        new RegExp(`${theirs.fingerprint}.*${ours.fingerprint}.*TIERGATE_KMS_SECRET_KEY`),
      ),
    );
  });

  it('refuses a sealed key stored under another key id, and things that are not sealed keys', async () => {
    const kms = LocalKms.fromMasterKey(randomBytes(32));
    const key = await kms.generateDataKey(CONTEXT);
    await assert.rejects(
      kms.decrypt({ ...key, keyId: 'other' }, CONTEXT),
      refused('InvalidCiphertext', /names KMS key/),
    );
    const notSealed: Buffer[] = [Buffer.alloc(0), Buffer.from('TGLK'), randomBytes(90)];
    const v2 = Buffer.from(key.sealed);
    v2[4] = 2;
    notSealed.push(v2);
    for (const sealed of notSealed) {
      await assert.rejects(
        kms.decrypt({ sealed, keyId: key.keyId }, CONTEXT),
        refused('InvalidCiphertext', /not a sealed key/),
      );
    }
  });
});
