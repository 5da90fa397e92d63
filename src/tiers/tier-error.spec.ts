import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, putFailure, TierError, type RawFailure } from './tier-error';

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
    // 4xx answers a retry cures.
    [{ status: 400, cloudCode: 'RequestTimeout', message: '' }, 'Unavailable', true],
    [{ status: 409, cloudCode: 'OperationAborted', message: '' }, 'Unavailable', true],
    [{ status: 400, cloudCode: 'BadDigest', message: '' }, 'Unavailable', true],
    [{ status: 400, cloudCode: 'IncompleteBody', message: '' }, 'Unavailable', true],
    [{ status: 400, cloudCode: 'ExpiredToken', message: '' }, 'Unavailable', true],
    [{ status: 403, cloudCode: 'SecurityTokenExpired', message: '' }, 'Unavailable', true],
    [{ status: 403, cloudCode: 'InvalidToken', message: '' }, 'AccessDenied', false],
    [{ status: 409, cloudCode: 'BucketAlreadyExists', message: '' }, 'Rejected', false],
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

describe('putFailure', () => {
  it('makes a multipart upload that vanished under a put retryable', () => {
    const gone = new TierError('NotFound', 'put k: NoSuchUpload', { status: 404, cloudCode: 'NoSuchUpload' });
    const seen = putFailure(gone);
    assert.equal(seen.code, 'Unavailable');
    assert.equal(seen.retryable, true);
    assert.equal(seen.details.cloudCode, 'NoSuchUpload');
  });

  it('leaves every other failure as it was', () => {
    const denied = new TierError('AccessDenied', 'put k', { status: 403, cloudCode: 'AccessDenied' });
    assert.equal(putFailure(denied), denied);
    const missing = new TierError('NoSuchBucket', 'put k', { status: 404, cloudCode: 'NoSuchBucket' });
    assert.equal(putFailure(missing), missing);
  });
});
