/**
 * Builds the backend a tier definition describes, after validating it. The registry calls this for every add and
 * every credential rotation: backends are immutable, so a rotation is "build, probe, swap".
 */
import type { Md5Hasher } from '../common/md5-hasher';
import { AlibabaOssTier, type AlibabaOssTierOptions } from './alibaba-oss-tier';
import { AwsS3Tier, type AwsS3TierOptions } from './aws-s3-tier';
import type { TierBackend } from './tier-backend';
import { validateTierDefinition, type TierDefinition } from './tier-definition';

/** Per-cloud tuning, for tests and benchmarks; production uses the defaults. */
export interface TierBackendOptions {
  s3?: AwsS3TierOptions;
  oss?: AlibabaOssTierOptions;
  /** Where every backend hashes its uploads (a per-cloud `md5` option wins). */
  md5?: Md5Hasher;
}

/** A backend for `def`; throws TierError InvalidConfig for an invalid definition. */
export function createTierBackend(def: TierDefinition, opts: TierBackendOptions = {}): TierBackend {
  validateTierDefinition(def);
  return def.type === 's3'
    ? new AwsS3Tier(def, { md5: opts.md5, ...opts.s3 })
    : new AlibabaOssTier(def, { md5: opts.md5, ...opts.oss });
}
