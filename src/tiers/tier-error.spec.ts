import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, TierError, type RawFailure } from './tier-error';

describe('classify', () => {
  const table: [RawFailure, string, boolean][] = [
    [{ networkCode: 'ECONNREFUSED', message: '' }, 'Unavailable', true],
    [{ networkCode: 'ECONNRESET', message: '' }, 'Unavailable', true],
    [{ networkCode: 'TimeoutError', message: '' }, 'Unavailable', true],
    [{ networkCode: 'CERT_HAS_EXPIRED', message: '' }, 'InvalidConfig', false],
    [{ status: 503, cloudCode: 'ServiceUnavailable', message: '' }, 'Unavailable', true],
    [{ status: 503, cloudCode: 'SlowDown', message: '' }, 'Throttled', true],
    [{ status: 429, message: '' }, 'Throttled', true],
    [{ status: 500, cloudCode: 'InternalError', message: '' }, 'Unavailable', true],
    [{ status: 403, cloudCode: 'SignatureDoesNotMatch', message: '' }, 'AccessDenied', false],
    [{ status: 403, cloudCode: 'InvalidAccessKeyId', message: '' }, 'AccessDenied', false],
    [{ status: 403, message: '' }, 'AccessDenied', false],
    [{ status: 403, cloudCode: 'InvalidObjectState', message: '' }, 'ObjectArchived', false],
    [{ status: 404, cloudCode: 'NoSuchBucket', message: '' }, 'NoSuchBucket', false],
    [{ status: 404, cloudCode: 'NoSuchKey', message: '' }, 'NotFound', false],
    [{ status: 404, cloudCode: 'NotFound', message: '' }, 'NotFound', false],
    [{ status: 416, message: '' }, 'InvalidRange', false],
    [{ status: 400, cloudCode: 'InvalidArgument', message: '' }, 'Rejected', false],
    [{ status: 501, cloudCode: 'NotImplemented', message: '' }, 'Rejected', false],
    [{ status: 501, message: '' }, 'Rejected', false],
    [{ message: 'a local bug' }, 'Rejected', false],
  ];
  for (const [failure, code, retryable] of table) {
    it(`${JSON.stringify(failure)} -> ${code}`, () => {
      const c = classify(failure);
      assert.equal(c, code);
      assert.equal(new TierError(c, 'x').retryable, retryable);
    });
  }
});
