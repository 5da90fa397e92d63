/**
 * The S3 tier under the tier contract on two servers: s3rver (the emulator the benchmark uses; STANDARD only, no
 * signature checks, checksums WHEN_REQUIRED, no ListMultipartUploads) and our archive-class S3 server (SigV4
 * verified, the SDK's default aws-chunked uploads with CRC32 trailers, GLACIER restore semantics, open multipart
 * uploads listed and aborted).
 */
import { AwsS3Tier } from '../../src/tiers/aws-s3-tier';
import type { TierDefinition } from '../../src/tiers/tier-definition';
import { openUpload } from '../fixtures/cloud/open-upload';
import { startS3ArchiveServer, type S3ArchiveServer } from '../fixtures/cloud/s3-archive-server';
import { S3RVER_KEYS, startS3rver, type S3rverServer } from '../fixtures/cloud/s3rver-server';
import { tierContract } from './tier-contract';

const MiB = 1024 * 1024;
const BUCKET = 'tier-bucket';

let rver: S3rverServer;
tierContract(
  'aws-s3 on s3rver',
  async () => {
    rver = await startS3rver([BUCKET]);
    const def: TierDefinition = {
      name: 'WARM',
      type: 's3',
      endpoint: rver.endpoint,
      region: 'us-east-1',
      bucket: BUCKET,
      prefix: 'tiergate/',
      storageClass: 'STANDARD',
      ...S3RVER_KEYS,
    };
    return {
      backend: (over, tuning) =>
        new AwsS3Tier({ ...def, ...over }, { checksums: 'when-required', maxAttempts: 1, ...tuning }),
      tap: rver.tap,
      readableClass: 'STANDARD',
      reportsClass: true,
      badCredentials: { accessKey: 'NOT-S3RVER' },
      partSize: 8 * MiB,
      quirks: { wholeObjectForFirstByte: true, noPaging: true },
    };
  },
  () => rver.close(),
  { big: true, archive: false, uploads: false },
);

let archive: S3ArchiveServer;
tierContract(
  'aws-s3 (GLACIER) on the archive S3 server',
  async () => {
    archive = await startS3ArchiveServer({
      buckets: [BUCKET],
      credentials: { AKIATIERTEST: 'tier-secret' },
      region: 'eu-west-1',
      restoreMs: 300,
    });
    const def: TierDefinition = {
      name: 'FROZEN',
      type: 's3',
      endpoint: archive.endpoint,
      region: 'eu-west-1',
      bucket: BUCKET,
      prefix: 'frozen/',
      storageClass: 'GLACIER',
      accessKey: 'AKIATIERTEST',
      secretKey: 'tier-secret',
    };
    return {
      backend: (over, tuning) => new AwsS3Tier({ ...def, ...over }, { maxAttempts: 1, ...tuning }),
      tap: archive.tap,
      readableClass: 'STANDARD_IA',
      reportsClass: true,
      badCredentials: { secretKey: 'wrong-secret' },
      authFailures: () => archive.authFailures,
      partSize: 8 * MiB,
      archive: { restoreMs: 300 },
      openUploads: () => archive.store.openUploads(),
      openUpload: (key: string, over?: Partial<TierDefinition>) => openUpload({ ...def, ...over }, key),
    };
  },
  () => archive.close(),
  { big: true, archive: true, uploads: true },
);
