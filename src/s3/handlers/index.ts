/**
 * The handler registry: every operation of the routing table has exactly one handler. Checked when this module
 * loads, so a route without a handler fails the boot instead of a request.
 */
import { S3_OPERATIONS, type S3Operation } from '../router/routes';
import type { S3Handler } from '../s3-context';
import { BUCKET_HANDLERS } from './bucket.handlers';
import { MULTIPART_HANDLERS } from './multipart.handlers';
import { OBJECT_HANDLERS } from './object.handlers';

/** Merges partial handler maps, refusing duplicates and gaps. */
export function buildRegistry(
  ...maps: Partial<Record<S3Operation, S3Handler>>[]
): Record<S3Operation, S3Handler> {
  const out: Partial<Record<S3Operation, S3Handler>> = {};
  for (const map of maps) {
    for (const [op, handler] of Object.entries(map) as [S3Operation, S3Handler][]) {
      if (out[op]) throw new Error(`two handlers for ${op}`);
      out[op] = handler;
    }
  }
  const missing = S3_OPERATIONS.filter((op) => !out[op]);
  if (missing.length > 0) throw new Error(`no handler for ${missing.join(', ')}`);
  return out as Record<S3Operation, S3Handler>;
}

/** Handler of every S3 operation. */
export const HANDLERS = buildRegistry(BUCKET_HANDLERS, OBJECT_HANDLERS, MULTIPART_HANDLERS);
