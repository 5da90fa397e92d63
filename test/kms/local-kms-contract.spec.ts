/**
 * The KMS contract on the local provider. Its equivalent of a deleted or disabled key is a sealed key of another
 * master key (KeyNotFound: only restoring that master key helps); it has no disabled state and, being in-process,
 * cannot be unreachable, so the suite is registered without those two notions.
 */
import { randomBytes } from 'node:crypto';
import { LocalKms } from '../../src/kms/local-kms';
import { kmsContract } from './kms-contract';

kmsContract(
  'local',
  async () => ({
    provider: LocalKms.fromMasterKey(randomBytes(32)),
    foreignSealedKey: (context) => LocalKms.fromMasterKey(randomBytes(32)).generateDataKey(context),
    close: async () => undefined,
  }),
  { disableKey: false, unreachable: false },
);

kmsContract(
  'local with a configured key id',
  async () => ({
    provider: LocalKms.fromMasterKey(randomBytes(32), 'prod-master-2024'),
    // The same configured id on another master key: the fingerprint still tells them apart.
    foreignSealedKey: (context) =>
      LocalKms.fromMasterKey(randomBytes(32), 'prod-master-2024').generateDataKey(context),
    close: async () => undefined,
  }),
  { disableKey: false, unreachable: false },
);
