/**
 * Shared pieces of the bucket lifecycle handlers: the header AWS uses for the transition minimum-size mode, the
 * body limit, and the bridge from the lifecycle rules' errors to the S3 error catalog (the rules live in
 * `lifecycle/rules/`, which may not import `s3/`, so they raise their own LifecycleError with AWS's codes).
 */
import { LifecycleError } from '../../lifecycle/rules/lifecycle-config';
import { S3Error } from '../errors/s3-error';

/** Request and response header carrying the transition minimum-size mode (AWS, since September 2024). */
export const TRANSITION_MIN_SIZE_HEADER = 'x-amz-transition-default-minimum-object-size';

/** Body limit: 1000 rules with 1024-byte prefixes, tags and all actions fit with room to spare. */
export const MAX_LIFECYCLE_BODY = 4 * 1024 * 1024;

/** Runs `fn`, turning a LifecycleError into the S3Error with the same code and message. */
export function withS3Errors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof LifecycleError) throw new S3Error(err.code, err.message);
    throw err;
  }
}
