/**
 * The routing table, fed request lines as the AWS API reference writes them ("PUT /?lifecycle HTTP/1.1" on a bucket
 * host): each must reach the operation of that name. Covers the bucket lifecycle rows and their neighbours on the
 * same sub-resource-less paths, which they must not capture.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchRoute, type Target } from './routes';

function route(method: string, target: Target, query: string, headers: Record<string, string> = {}): string {
  const match = matchRoute(method, target, new URLSearchParams(query), headers);
  return 'route' in match ? match.route.op : match.error;
}

describe('matchRoute: AWS request lines', () => {
  const table: [string, Target, string, string][] = [
    ['PUT', 'bucket', 'lifecycle', 'PutBucketLifecycleConfiguration'],
    ['GET', 'bucket', 'lifecycle', 'GetBucketLifecycleConfiguration'],
    ['DELETE', 'bucket', 'lifecycle', 'DeleteBucketLifecycle'],
    ['PUT', 'bucket', '', 'CreateBucket'],
    ['GET', 'bucket', '', 'ListObjects'],
    ['DELETE', 'bucket', '', 'DeleteBucket'],
    ['PUT', 'bucket', 'tagging', 'PutBucketTagging'],
    ['GET', 'bucket', 'versioning', 'GetBucketVersioning'],
    // lifecycle is a bucket sub-resource: on an object it is no operation at all.
    ['GET', 'object', 'lifecycle', 'NotImplemented'],
    ['POST', 'bucket', 'lifecycle', 'NotImplemented'],
    ['POST', 'object', 'restore', 'RestoreObject'],
    ['POST', 'object', 'restore&versionId=3HL4kqtJlcpXroDTDmJ', 'RestoreObject'],
    ['POST', 'bucket', 'restore', 'NotImplemented'],
    ['GET', 'object', 'restore', 'NotImplemented'],
  ];
  for (const [method, target, query, op] of table) {
    it(`${method} ${target === 'bucket' ? '/' : '/key'}?${query} -> ${op}`, () =>
      assert.equal(route(method, target, query), op));
  }

  it('names the IAM actions AWS uses for lifecycle configuration', () => {
    const action = (method: string): string | undefined => {
      const m = matchRoute(method, 'bucket', new URLSearchParams('lifecycle'), {});
      return 'route' in m ? m.route.action : undefined;
    };
    assert.equal(action('PUT'), 's3:PutLifecycleConfiguration');
    assert.equal(action('GET'), 's3:GetLifecycleConfiguration');
    assert.equal(action('DELETE'), 's3:PutLifecycleConfiguration');
  });
});
