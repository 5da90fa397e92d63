/**
 * Pins envelope version 1 with test vectors, and checks them against a reference encoder written from the format
 * comment of envelope-format.ts alone (one-shot, no streams), so the code and the documentation agree.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  encryptVector,
  VECTOR_HEADER,
  VECTOR_KEY,
  vectorPlaintext,
  decryptSlice,
} from '../../../test/fixtures/envelope';
import { ciphertextLength, EnvelopeError, parseEnvelopeHeader, plaintextLength } from './envelope-format';

const HEADER_HEX =
  '54474556' + // magic TGEV
  '01' + // version
  '00' + // flags
  'a0a1a2a3a4a5a6a7' + // nonce prefix
  '0008' + // key id length
  '746573742d6b6579' + // "test-key"
  '0008' + // sealed key length
  '5a5a5a5a5a5a5a5a'; // sealed key

/** Pinned envelopes: full hex for the small ones, SHA-256 and the package tags for the others. */
const VECTORS = [
  { size: 0, length: 50, hex: HEADER_HEX + '12ccc6eb2f2b891cb0d445a0e6ce4d3c' },
  { size: 1, length: 51, hex: HEADER_HEX + 'fe' + '5d33905b97169765d0d5953d6ad52b6d' },
  {
    size: 65_536,
    length: 65_586,
    sha256: 'd3ca906daa3ed93c350941b459186a81d85320084e04c14a9713022d66bbe438',
    tags: ['666a8646ccff95e4f434dca4967390d6'],
  },
  {
    size: 65_537,
    length: 65_603,
    sha256: '6cea7d569090b21a3cc34a3e91a9a4460781b6b18b6bab8aa72895405b446e10',
    tags: ['049809407144d476392a461ac6cc4e10', '635aa82359db3f25491487a4fc23f047'],
  },
];

/** The format as documented: header, then per package AES-256-GCM with nonce prefix||i and AAD digest||i||final. */
function referenceEncrypt(plaintext: Buffer, key: Buffer, header: Buffer, noncePrefix: Buffer): Buffer {
  const digest = createHash('sha256').update(header).digest();
  const count = Math.max(1, Math.ceil(plaintext.length / 65_536));
  const parts = [header];
  for (let i = 0; i < count; i++) {
    const nonce = Buffer.concat([noncePrefix, u32(i)]);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(Buffer.concat([digest, u32(i), Buffer.from([i === count - 1 ? 1 : 0])]));
    parts.push(
      cipher.update(plaintext.subarray(i * 65_536, (i + 1) * 65_536)),
      cipher.final(),
      cipher.getAuthTag(),
    );
  }
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

describe('envelope v1 test vectors', () => {
  it('encodes the documented header', () => {
    assert.equal(VECTOR_HEADER.bytes.toString('hex'), HEADER_HEX);
  });

  for (const v of VECTORS) {
    it(`pins a ${v.size}-byte plaintext`, async () => {
      const plaintext = vectorPlaintext(v.size);
      const envelope = await encryptVector(plaintext);
      assert.equal(envelope.length, v.length);
      assert.equal(ciphertextLength(v.size, 34), v.length);
      assert.equal(plaintextLength(v.length, 34), v.size);
      if (v.hex) assert.equal(envelope.toString('hex'), v.hex);
      if (v.sha256) assert.equal(createHash('sha256').update(envelope).digest('hex'), v.sha256);
      v.tags?.forEach((tag, i) => {
        const end = Math.min(34 + (i + 1) * 65_552, envelope.length);
        assert.equal(envelope.subarray(end - 16, end).toString('hex'), tag, `tag of package ${i}`);
      });
      const reference = referenceEncrypt(
        plaintext,
        VECTOR_KEY,
        VECTOR_HEADER.bytes,
        VECTOR_HEADER.header.noncePrefix,
      );
      assert.ok(reference.equals(envelope), 'the documented format and the encoder agree');
      assert.ok((await decryptSlice(envelope, VECTOR_KEY, VECTOR_HEADER, v.size)).equals(plaintext));
    });
  }

  it('gives the same bytes whatever the input chunking', async () => {
    const plaintext = vectorPlaintext(200_000);
    const whole = await encryptVector(plaintext, 1 << 20);
    for (const chunk of [1_000, 65_535, 65_536, 65_537, 100_003]) {
      assert.ok((await encryptVector(plaintext, chunk)).equals(whole), `chunks of ${chunk}`);
    }
  });
});

describe('parseEnvelopeHeader', () => {
  const bytes = Buffer.from(HEADER_HEX, 'hex');

  it('reads the fields back, ignoring the packages after the header', () => {
    const parsed = parseEnvelopeHeader(Buffer.concat([bytes, Buffer.alloc(100, 1)]));
    assert.equal(parsed.header.keyId, 'test-key');
    assert.equal(parsed.header.sealedKey.toString('hex'), '5a'.repeat(8));
    assert.equal(parsed.header.noncePrefix.toString('hex'), 'a0a1a2a3a4a5a6a7');
    assert.ok(parsed.bytes.equals(bytes));
    assert.ok(parsed.digest.equals(VECTOR_HEADER.digest));
  });

  const bad: [string, (b: Buffer) => void, string, RegExp][] = [
    ['a wrong magic', (b) => (b[0] = 0x55), 'BadHeader', /wrong magic/],
    ['an unknown version', (b) => (b[4] = 2), 'BadHeader', /version 2 is not supported/],
    ['unknown flags', (b) => (b[5] = 1), 'BadHeader', /flags 0x01/],
    ['a zero key id length', (b) => b.writeUInt16BE(0, 14), 'BadHeader', /key id must be/],
    ['a zero sealed key length', (b) => b.writeUInt16BE(0, 24), 'BadHeader', /sealed key must be/],
    ['a sealed key past the end', (b) => b.writeUInt16BE(9, 24), 'Truncated', /needs 35 bytes/],
    ['invalid UTF-8 in the key id', (b) => (b[16] = 0xff), 'BadHeader', /UTF-8/],
  ];
  for (const [what, damage, code, message] of bad) {
    it(`refuses ${what}`, () => {
      const copy = Buffer.from(bytes);
      damage(copy);
      assert.throws(
        () => parseEnvelopeHeader(copy),
        (err) => err instanceof EnvelopeError && err.code === code && message.test(err.message),
      );
    });
  }

  it('refuses every truncation of the header', () => {
    for (let n = 0; n < bytes.length; n++) {
      assert.throws(() => parseEnvelopeHeader(bytes.subarray(0, n)), { code: 'Truncated' });
    }
  });
});

describe('plaintextLength', () => {
  it('inverts ciphertextLength and refuses impossible lengths', () => {
    for (const n of [0, 1, 15, 16, 65_535, 65_536, 65_537, 131_072, 131_073, 10_000_000]) {
      assert.equal(plaintextLength(ciphertextLength(n, 34), 34), n);
    }
    // Under a tag, a tag-only package after full ones, and a last package shorter than a tag are impossible.
    for (const body of [0, 15, 65_552 + 16, 65_552 + 5, -1]) {
      assert.throws(() => plaintextLength(34 + body, 34), { code: 'BadRange' }, `body of ${body}`);
    }
  });
});
