/**
 * Which failures of a lifecycle job no retry can fix: the job fails at once (UnrecoverableError) instead of backing
 * off, and a transition that fails so drops its intent (transition.ts). Everything else (drives, Redis, a cloud or
 * KMS that is down or throttling, a lock held too long) is retried with backoff.
 */
import { KmsError } from '../../kms/kms-provider';
import { isStorageError } from '../../storage/errors';
import { TierError } from '../../tiers/tier-error';
import { DamagedRulesError } from './bucket-rules';
import { RemoteDeleteRefusedError } from './remote-delete';
import { RestoreRefusedError } from './restore';
import { TransitionRefusedError } from './transition';

/** True for errors a retry cannot fix. */
export function isPermanent(err: unknown): boolean {
  return (
    err instanceof DamagedRulesError ||
    err instanceof TransitionRefusedError ||
    err instanceof RestoreRefusedError ||
    err instanceof RemoteDeleteRefusedError ||
    (err instanceof TierError && !err.retryable) ||
    (err instanceof KmsError && !err.retryable) ||
    isStorageError(err, 'InvalidBucketName') ||
    isStorageError(err, 'InvalidArgument') ||
    isStorageError(err, 'InvalidObjectName')
  );
}
