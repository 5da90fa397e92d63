/**
 * The OSS tier under the tier contract, on the OSS test server that verifies V4 signatures exactly: Standard
 * through an IP endpoint (ali-oss names the bucket in the Host header), and Archive through a hostname endpoint
 * with path-style requests (`sldEnable`), so both addressing forms are signed and checked.
 */
import { AlibabaOssTier } from '../../src/tiers/alibaba-oss-tier';
import type { TierDefinition } from '../../src/tiers/tier-definition';
import { openUpload } from '../fixtures/cloud/open-upload';
import { startOssServer, type OssServer } from '../fixtures/cloud/oss-server';
import { tierContract } from './tier-contract';

const MiB = 1024 * 1024;
const BUCKET = 'tier-bucket';
const AK = 'LTAI5tTierGateTest';
const SECRET = 'oss-test-secret-0123456789abcd';

function target(server: OssServer, def: TierDefinition, pathStyle: boolean) {
  return {
    backend: (over?: Partial<TierDefinition>, tuning?: { listPageSize?: number }) =>
      new AlibabaOssTier({ ...def, ...over }, { pathStyle, ...tuning }),
    tap: server.tap,
    readableClass: 'Standard',
    reportsClass: true,
    badCredentials: { secretKey: 'wrong-secret' },
    authFailures: () => server.authFailures,
    partSize: 8 * MiB,
    openUploads: () => server.store.openUploads(),
    openUpload: (key: string, over?: Partial<TierDefinition>) =>
      openUpload({ ...def, ...over }, key, { pathStyle }),
  };
}

let standard: OssServer;
tierContract(
  'alibaba-oss (Standard, IP endpoint, bucket in Host)',
  async () => {
    standard = await startOssServer({ buckets: [BUCKET], credentials: { [AK]: { secret: SECRET } } });
    const def: TierDefinition = {
      name: 'OSS-WARM',
      type: 'oss',
      endpoint: standard.endpoint,
      region: 'cn-hangzhou',
      bucket: BUCKET,
      prefix: 'warm/',
      storageClass: 'Standard',
      accessKey: AK,
      secretKey: SECRET,
    };
    return target(standard, def, false);
  },
  () => standard.close(),
  { big: true, archive: false, uploads: true },
);

let archive: OssServer;
tierContract(
  'alibaba-oss (Archive, hostname endpoint, path-style)',
  async () => {
    archive = await startOssServer({
      region: 'eu-central-1',
      buckets: [BUCKET],
      credentials: { [AK]: { secret: SECRET } },
      restoreMs: 300,
    });
    const def: TierDefinition = {
      name: 'OSS-ARCHIVE',
      type: 'oss',
      endpoint: archive.endpoint.replace('127.0.0.1', 'localhost'),
      region: 'oss-eu-central-1',
      bucket: BUCKET,
      prefix: 'archive/',
      storageClass: 'Archive',
      accessKey: AK,
      secretKey: SECRET,
    };
    return { ...target(archive, def, true), archive: { restoreMs: 300 } };
  },
  () => archive.close(),
  { big: false, archive: true, uploads: true },
);
