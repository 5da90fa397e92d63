/**
 * The KMS contract on the AWS provider, through `@aws-sdk/client-kms` against the SigV4-verifying test KMS
 * (test/fixtures/kms-server.ts): once addressing the key by alias, once by ARN.
 */
import { AwsKms } from '../../src/kms/aws-kms';
import { TestKmsServer } from '../fixtures/kms-server';
import { kmsContract, type KmsContractSubject } from './kms-contract';

async function awsSubject(address: 'alias' | 'arn'): Promise<KmsContractSubject> {
  const server = await TestKmsServer.start({ region: 'eu-west-1' });
  const key = server.createKey('alias/tiergate-test');
  // The SDK's default 3 attempts, as in production (they also cover connections the outage reset); 1 where a test
  // wants the failure itself.
  const connect = (keyId: string, maxAttempts?: number) =>
    new AwsKms({
      keyId,
      region: server.region,
      endpoint: server.endpoint,
      credentials: server.credentials,
      maxAttempts,
    });
  const after: (() => void)[] = [];
  const provider = connect(address === 'alias' ? 'alias/tiergate-test' : key.arn);
  return {
    provider,
    foreignSealedKey: async (context) => {
      const other = server.createKey();
      const kms = connect(other.arn);
      const sealed = await kms.generateDataKey(context);
      kms.close();
      server.deleteKey(other.keyId);
      return sealed;
    },
    disableKey: async () => {
      server.setKeyEnabled(key.keyId, false);
      return async () => server.setKeyEnabled(key.keyId, true);
    },
    unreachable: async () => {
      await server.outage('refuse');
      const cut = connect(key.arn, 1);
      return {
        provider: cut,
        restore: async () => {
          await server.outage(undefined);
          after.push(() => cut.close());
        },
      };
    },
    close: async () => {
      for (const close of after) close();
      provider.close();
      await server.stop();
    },
  };
}

kmsContract('aws (key by alias, test KMS)', () => awsSubject('alias'), {
  disableKey: true,
  unreachable: true,
});
kmsContract('aws (key by ARN, test KMS)', () => awsSubject('arn'), { disableKey: true, unreachable: true });
