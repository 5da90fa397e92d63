/** KmsModule builds the configured provider at boot: local from the secret or the key file, aws, not alibaba. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Test } from '@nestjs/testing';
import { ConfigModule } from '../config/config.module';
import { loadConfig } from '../config/load-config';
import { AwsKms } from './aws-kms';
import { KmsProvider } from './kms-provider';
import { KmsModule } from './kms.module';
import { LocalKms } from './local-kms';

const root = mkdtempSync(join(tmpdir(), 'tiergate-kmsmod-'));
const DRIVES = { TIERGATE_DRIVES: join(root, 'drive{1...4}') };

async function boot(env: Record<string, string>): Promise<{ kms: KmsProvider; close: () => Promise<void> }> {
  const app = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(loadConfig({ ...DRIVES, ...env }, root)), KmsModule],
  }).compile();
  await app.init();
  return { kms: app.get(KmsProvider), close: () => app.close() };
}

describe('KmsModule', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  it('by default creates the local master key file under the data root, and reuses it', async () => {
    const first = await boot({});
    assert.ok(first.kms instanceof LocalKms);
    const file = join(root, 'kms', 'master.key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const sealed = await first.kms.generateDataKey({ bucket: 'b' });
    await first.close();
    const second = await boot({});
    assert.equal(second.kms.keyId, first.kms.keyId);
    assert.ok((await second.kms.decrypt(sealed, { bucket: 'b' })).plaintext.equals(sealed.plaintext));
    await second.close();
  });

  it('uses TIERGATE_KMS_SECRET_KEY when set', async () => {
    const { kms, close } = await boot({
      TIERGATE_KMS_SECRET_KEY: '11'.repeat(32),
      TIERGATE_KMS_KEY_ID: 'k1',
    });
    assert.equal(kms.keyId, 'k1');
    assert.equal((kms as LocalKms).fingerprint, LocalKms.fromMasterKey(Buffer.alloc(32, 0x11)).fingerprint);
    await close();
  });

  it('builds the AWS provider', async () => {
    const env = { TIERGATE_KMS: 'aws', TIERGATE_KMS_KEY_ID: 'alias/x', TIERGATE_KMS_REGION: 'eu-central-1' };
    const { kms, close } = await boot(env);
    assert.ok(kms instanceof AwsKms);
    assert.equal(kms.keyId, 'alias/x');
    await close();
  });

  it('refuses to boot with alibaba, saying what to use instead', async () => {
    const env = { TIERGATE_KMS: 'alibaba', TIERGATE_KMS_KEY_ID: 'key-1', TIERGATE_KMS_REGION: 'cn-hangzhou' };
    await assert.rejects(
      boot(env),
      /alibaba is not supported yet: use TIERGATE_KMS=local or TIERGATE_KMS=aws/,
    );
  });
});
