/**
 * Provides the configured KmsProvider to the whole app (inject it by class: `constructor(kms: KmsProvider)`).
 *
 * - `local`: the master key from TIERGATE_KMS_SECRET_KEY, else the key file `<data root>/kms/master.key`,
 *   created on first start (the boot log says so once, with a reminder to back it up).
 * - `aws`: AWS KMS with the configured key id, region and endpoint; credentials from the SDK's default chain.
 * - `alibaba`: refused at boot, not supported yet.
 * The plaintext master key lives only inside the LocalKms; the config's copy is revealed once and zeroed.
 */
import { Global, Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { TiergateConfig, type KmsConfig } from '../config/tiergate-config';
import { AwsKms } from './aws-kms';
import { KmsError, KmsProvider } from './kms-provider';
import { LocalKms } from './local-kms';
import { loadOrCreateMasterKey } from './master-key-file';

/** Builds the provider `config` names; `log` receives one line about where the key comes from. */
export async function createKmsProvider(
  config: KmsConfig,
  log: (line: string) => void,
): Promise<KmsProvider> {
  switch (config.provider) {
    case 'local': {
      const secret = config.masterKey;
      const fromEnv = secret !== undefined;
      const loaded = fromEnv
        ? { key: secret.reveal(), created: false }
        : await loadOrCreateMasterKey(config.keyFile);
      try {
        const kms = LocalKms.fromMasterKey(loaded.key, config.keyId);
        const source = fromEnv ? 'TIERGATE_KMS_SECRET_KEY' : config.keyFile;
        log(`local KMS: key id ${kms.keyId}, master key fingerprint ${kms.fingerprint}, from ${source}`);
        if (loaded.created) {
          log(
            `created the local KMS master key file ${config.keyFile}: back it up (or move it into ` +
              `TIERGATE_KMS_SECRET_KEY); objects sent to tiers cannot be read without it`,
          );
        }
        return kms;
      } finally {
        loaded.key.fill(0);
      }
    }
    case 'aws':
      log(
        `AWS KMS: key ${config.keyId} in ${config.region}${config.endpoint ? ` via ${config.endpoint}` : ''}`,
      );
      return new AwsKms({ keyId: config.keyId, region: config.region, endpoint: config.endpoint });
    case 'alibaba':
      throw new KmsError(
        'InvalidRequest',
        'TIERGATE_KMS=alibaba is not supported yet: use TIERGATE_KMS=local or TIERGATE_KMS=aws',
      );
  }
}

/** Closes the AWS client's connections on shutdown. */
@Injectable()
class KmsLifecycle implements OnApplicationShutdown {
  constructor(private readonly kms: KmsProvider) {}

  onApplicationShutdown(): void {
    if (this.kms instanceof AwsKms) this.kms.close();
  }
}

/** Global provider of KmsProvider, built from TiergateConfig.kms at boot. */
@Global()
@Module({
  providers: [
    {
      provide: KmsProvider,
      inject: [TiergateConfig],
      useFactory: (config: TiergateConfig) => {
        const logger = new Logger('Kms');
        return createKmsProvider(config.kms, (line) => logger.log(line));
      },
    },
    KmsLifecycle,
  ],
  exports: [KmsProvider],
})
export class KmsModule {}
