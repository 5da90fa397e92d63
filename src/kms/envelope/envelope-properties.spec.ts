/**
 * Property-style tests of the envelope: random sizes and ranges decrypt to exactly the plaintext slice, and every
 * kind of damage (a flipped byte anywhere, swapped or dropped packages, appended garbage, a wrong key, a header from
 * another envelope) is detected before any plaintext of the damaged package is emitted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decryptBody, decryptSlice, encryptBuffer, VECTOR_HEADER } from '../../../test/fixtures/envelope';
import { randomInt, seededRandom } from '../../../test/fixtures/prng';
import { seededBytes } from '../../../test/fixtures/seeded';
import { readAll, streamOf } from '../../../test/fixtures/temp-drives';
import { decryptRange } from './decrypt-range';
import {
  EnvelopeError,
  PACKAGE_SIZE,
  parseEnvelopeHeader,
  TAG_LENGTH,
  type EncodedEnvelopeHeader,
} from './envelope-format';
import { rangePlan } from './range-plan';

const KEY = randomBytes(32);
const STRIDE = PACKAGE_SIZE + TAG_LENGTH;

/** Asserts `promise` rejects with an EnvelopeError of one of `codes`. */
async function rejectsWith(promise: Promise<unknown>, ...codes: string[]): Promise<void> {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof EnvelopeError, `expected an EnvelopeError, got ${String(err)}`);
    assert.ok(codes.includes(err.code), `expected ${codes.join('|')}, got ${err.code}: ${err.message}`);
    return true;
  });
}

describe('envelope round trips', () => {
  it('decrypts random ranges of random sizes to exactly the plaintext slice', async () => {
    const rand = seededRandom(0xc0ffee);
    const sizes = [0, 1, 2, 65_535, 65_536, 65_537, 131_072, 131_073, 300_001];
    for (let i = 0; i < 12; i++) sizes.push(randomInt(rand, 0, 600_000));
    for (const size of sizes) {
      const plaintext = seededBytes(size + 1, size);
      const chunk = randomInt(rand, 1_000, 200_000);
      const { envelope, header } = await encryptBuffer(plaintext, KEY, chunk);
      assert.ok((await decryptSlice(envelope, KEY, header, size)).equals(plaintext), `whole ${size}`);
      for (let r = 0; size > 0 && r < 12; r++) {
        const start = randomInt(rand, 0, size - 1);
        const end =
          r % 3 === 0 ? Math.min(size - 1, start + randomInt(rand, 0, 10)) : randomInt(rand, start, size - 1);
        const got = await decryptSlice(
          envelope,
          KEY,
          header,
          size,
          { start, end },
          randomInt(rand, 1, 100_000),
        );
        assert.ok(got.equals(plaintext.subarray(start, end + 1)), `size ${size} bytes ${start}-${end}`);
      }
    }
  });

  it('fetches only the packages a range needs', async () => {
    const size = 1_000_000;
    const plaintext = seededBytes(7, size);
    const { envelope, header } = await encryptBuffer(plaintext, KEY);
    const plan = rangePlan(size, header.bytes.length, { start: 200_000, end: 400_000 });
    assert.equal(plan.firstPackage, 3);
    assert.equal(plan.lastPackage, 6);
    const fetched = envelope.subarray(plan.cipherStart, plan.cipherEnd + 1);
    assert.equal(fetched.length, 4 * STRIDE);
    const got = await readAll(decryptRange(streamOf(fetched, 4096), KEY, header, plan));
    assert.ok(got.equals(plaintext.subarray(200_000, 400_001)));
  });

  it('writes a fresh nonce prefix per envelope, so equal inputs give unrelated ciphertexts', async () => {
    const plaintext = Buffer.alloc(1000, 1);
    const a = await encryptBuffer(plaintext, KEY);
    const b = await encryptBuffer(plaintext, KEY);
    assert.ok(!a.header.header.noncePrefix.equals(b.header.header.noncePrefix));
    const hl = a.header.bytes.length;
    assert.ok(!a.envelope.subarray(hl).equals(b.envelope.subarray(hl)));
  });

  it('contains no 64-byte window of the plaintext', async () => {
    const plaintext = Buffer.alloc(300_000, 'tiergate plaintext ');
    const { envelope } = await encryptBuffer(plaintext, KEY);
    assert.equal(envelope.indexOf(plaintext.subarray(0, 64)), -1);
  });
});

describe('envelope damage', () => {
  it('detects every single-byte flip of a small envelope, header included', async () => {
    const size = 3 * 1024;
    const plaintext = seededBytes(11, size);
    const { envelope, header } = await encryptBuffer(plaintext, KEY);
    const hl = header.bytes.length;
    for (let i = 0; i < envelope.length; i++) {
      const damaged = Buffer.from(envelope);
      damaged[i] ^= 1 << (i % 8);
      if (i < hl) {
        // A reader that parses the stored header finds it changed (or malformed): its digest no longer matches
        // the one the packages were sealed with. Here the damaged header is parsed and used as is.
        let parsed: EncodedEnvelopeHeader;
        try {
          parsed = parseEnvelopeHeader(damaged);
        } catch (err) {
          assert.ok(err instanceof EnvelopeError);
          continue;
        }
        await rejectsWith(decryptBody(damaged.subarray(hl), KEY, parsed, size), 'AuthenticationFailed');
      } else {
        await rejectsWith(decryptBody(damaged.subarray(hl), KEY, header, size), 'AuthenticationFailed');
      }
    }
  });

  const size = 5 * PACKAGE_SIZE + 123;
  const plaintext = seededBytes(13, size);
  const sealed = encryptBuffer(plaintext, KEY);
  const packagesOf = async () => {
    const { envelope, header } = await sealed;
    const body = envelope.subarray(header.bytes.length);
    const packages = [];
    for (let i = 0; i < body.length; i += STRIDE) packages.push(body.subarray(i, i + STRIDE));
    return { packages, header };
  };

  it('detects two swapped packages', async () => {
    const { packages, header } = await packagesOf();
    [packages[1], packages[2]] = [packages[2], packages[1]];
    await rejectsWith(decryptBody(Buffer.concat(packages), KEY, header, size), 'AuthenticationFailed');
  });

  it('detects a dropped last package, whatever size the reader expects', async () => {
    const { packages, header } = await packagesOf();
    const short = Buffer.concat(packages.slice(0, -1));
    await rejectsWith(decryptBody(short, KEY, header, size), 'Truncated');
    // A reader that trusts the remote length instead: package 4 is now last but was sealed as non-final.
    await rejectsWith(decryptBody(short, KEY, header, 5 * PACKAGE_SIZE), 'AuthenticationFailed');
  });

  it('detects a body cut inside a package', async () => {
    const { packages, header } = await packagesOf();
    await rejectsWith(
      decryptBody(Buffer.concat(packages).subarray(0, 100_000), KEY, header, size),
      'Truncated',
    );
  });

  it('detects appended garbage, whatever size the reader expects', async () => {
    const { packages, header } = await packagesOf();
    const long = Buffer.concat([...packages, Buffer.alloc(50, 0xee)]);
    await rejectsWith(decryptBody(long, KEY, header, size), 'TrailingData');
    await rejectsWith(decryptBody(long, KEY, header, size + 50), 'AuthenticationFailed');
  });

  it('detects a package replayed from another envelope with the same key', async () => {
    const { packages, header } = await packagesOf();
    const other = await encryptBuffer(seededBytes(99, size), KEY);
    packages[2] = other.envelope.subarray(
      other.header.bytes.length + 2 * STRIDE,
      other.header.bytes.length + 3 * STRIDE,
    );
    await rejectsWith(decryptBody(Buffer.concat(packages), KEY, header, size), 'AuthenticationFailed');
  });

  it('refuses a wrong data key', async () => {
    const { packages, header } = await packagesOf();
    await rejectsWith(
      decryptBody(Buffer.concat(packages), randomBytes(32), header, size),
      'AuthenticationFailed',
    );
  });

  it('emits only the packages that verified before the damage', async () => {
    const { packages, header } = await packagesOf();
    const damaged = Buffer.concat(packages);
    damaged[3 * STRIDE + 10] ^= 0xff;
    const plan = rangePlan(size, header.bytes.length);
    const emitted: Buffer[] = [];
    const stream = decryptRange(streamOf(damaged, 7_000), KEY, header, plan);
    await assert.rejects(async () => {
      for await (const chunk of stream) emitted.push(chunk as Buffer);
    }, EnvelopeError);
    const got = Buffer.concat(emitted);
    assert.equal(got.length, 3 * PACKAGE_SIZE);
    assert.ok(got.equals(plaintext.subarray(0, got.length)));
    assert.ok(stream.destroyed);
  });

  it('refuses data keys that are not 256 bits without showing them', () => {
    const key = Buffer.from('0123456789abcdef');
    assert.throws(
      () => decryptRange(streamOf(Buffer.alloc(0)), key, VECTOR_HEADER, rangePlan(0, 0)),
      (err) => err instanceof EnvelopeError && err.code === 'BadKey' && !err.message.includes(key.toString()),
    );
  });
});
