/**
 * AWS KMS as a KmsProvider, through `@aws-sdk/client-kms`: GenerateDataKey (AES_256) and Decrypt, both with the
 * encryption context, Decrypt also with the key id recorded with the sealed key (AWS then refuses a ciphertext of
 * any other key instead of trying it).
 *
 * Credentials: static ones only when given; otherwise the SDK's default chain (environment, shared profile, web
 * identity, ECS task role, EC2 instance profile). AWS failures map onto KmsErrorCode; only throttling, timeouts,
 * network failures and AWS-side faults are retryable. The SDK's own retries (maxAttempts) happen first.
 */
import { DecryptCommand, GenerateDataKeyCommand, KMSClient, type KMSClientConfig } from '@aws-sdk/client-kms';
import type { EncryptionContext } from './encryption-context';
import { canonicalContext } from './encryption-context';
import { DataKey, KmsError, KmsProvider, type KmsErrorCode, type SealedDataKey } from './kms-provider';

/** Where the AWS KMS key is and how to reach it. */
export interface AwsKmsOptions {
  /** Key id, key ARN, alias name (`alias/...`) or alias ARN that seals new data keys. */
  readonly keyId: string;
  readonly region: string;
  /** Endpoint override (a VPC endpoint, FIPS endpoint or a test server). */
  readonly endpoint?: string;
  /** Static credentials; omit to use the SDK's default credential chain. */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per call including the SDK's retries (SDK default: 3). */
  readonly maxAttempts?: number;
  /** Milliseconds to wait for a connection / for a response (defaults: 5 s / 30 s). */
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

/** The AWS KMS provider; `close()` releases its connections. */
export class AwsKms extends KmsProvider {
  readonly name = 'aws';
  readonly keyId: string;
  readonly #client: KMSClient;

  constructor(options: AwsKmsOptions) {
    super();
    this.keyId = options.keyId;
    const config: KMSClientConfig = {
      region: options.region,
      maxAttempts: options.maxAttempts,
      requestHandler: {
        connectionTimeout: options.connectionTimeoutMs ?? 5_000,
        requestTimeout: options.requestTimeoutMs ?? 30_000,
        // Without this the handler only logs a warning when the timeout passes and keeps waiting.
        throwOnRequestTimeout: true,
      },
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    };
    this.#client = new KMSClient(config);
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    canonicalContext(context); // the same validation as every provider
    let out;
    try {
      out = await this.#client.send(
        new GenerateDataKeyCommand({
          KeyId: this.keyId,
          KeySpec: 'AES_256',
          EncryptionContext: { ...context },
        }),
      );
    } catch (err) {
      throw kmsErrorFromAws(err, 'GenerateDataKey', this.keyId);
    }
    if (out.Plaintext?.length !== 32 || !out.CiphertextBlob || !out.KeyId) {
      out.Plaintext?.fill(0);
      throw new KmsError(
        'Unavailable',
        `AWS KMS GenerateDataKey for "${this.keyId}" answered without a 256-bit key`,
      );
    }
    return new DataKey(takeBytes(out.Plaintext), {
      sealed: Buffer.from(out.CiphertextBlob),
      keyId: out.KeyId,
    });
  }

  async decrypt(sealed: SealedDataKey, context: EncryptionContext): Promise<DataKey> {
    canonicalContext(context);
    let out;
    try {
      out = await this.#client.send(
        new DecryptCommand({
          CiphertextBlob: sealed.sealed,
          KeyId: sealed.keyId,
          EncryptionContext: { ...context },
        }),
      );
    } catch (err) {
      throw kmsErrorFromAws(err, 'Decrypt', sealed.keyId);
    }
    if (out.Plaintext?.length !== 32) {
      out.Plaintext?.fill(0);
      throw new KmsError('InvalidCiphertext', `AWS KMS Decrypt with "${sealed.keyId}" gave no 256-bit key`);
    }
    return new DataKey(takeBytes(out.Plaintext), sealed);
  }

  /** Closes the client's sockets. */
  close(): void {
    this.#client.destroy();
  }
}

/** A Buffer copy of SDK bytes; the SDK's copy is zeroed. */
function takeBytes(bytes: Uint8Array): Buffer {
  const copy = Buffer.from(bytes);
  bytes.fill(0);
  return copy;
}

/** AWS error names (the `__type` of KMS's JSON errors) and what they mean to tiergate. */
const AWS_ERRORS: Readonly<Record<string, KmsErrorCode>> = {
  InvalidCiphertextException: 'InvalidCiphertext',
  IncorrectKeyException: 'InvalidCiphertext',
  InvalidKeyUsageException: 'InvalidRequest',
  DisabledException: 'KeyDisabled',
  KMSInvalidStateException: 'KeyDisabled',
  KeyUnavailableException: 'KeyDisabled',
  NotFoundException: 'KeyNotFound',
  AccessDeniedException: 'AccessDenied',
  UnrecognizedClientException: 'AccessDenied',
  InvalidSignatureException: 'AccessDenied',
  IncompleteSignatureException: 'AccessDenied',
  InvalidGrantTokenException: 'AccessDenied',
  InvalidArnException: 'InvalidRequest',
  ValidationException: 'InvalidRequest',
  UnsupportedOperationException: 'InvalidRequest',
  DryRunOperationException: 'InvalidRequest',
  ThrottlingException: 'Unavailable',
  LimitExceededException: 'Unavailable',
  DependencyTimeoutException: 'Unavailable',
  KMSInternalException: 'Unavailable',
  ExpiredTokenException: 'Unavailable',
  ServiceUnavailableException: 'Unavailable',
  InternalFailure: 'Unavailable',
};

/** Maps an SDK error (service exception, network error, timeout) onto a KmsError. */
export function kmsErrorFromAws(err: unknown, operation: string, keyId: string): KmsError {
  const e = (err ?? {}) as {
    name?: string;
    message?: string;
    code?: string;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  let code = AWS_ERRORS[name];
  if (code === undefined) {
    // Unmodelled: a 5xx, a timeout or a socket error (no HTTP status) is the KMS being away; a 4xx is our request.
    code = status === undefined || status >= 500 || e.$fault === 'server' ? 'Unavailable' : 'InvalidRequest';
  }
  const detail = [name, e.code, status !== undefined ? `HTTP ${status}` : undefined]
    .filter(Boolean)
    .join(', ');
  return new KmsError(
    code,
    `AWS KMS ${operation} with key "${keyId}" failed (${detail}): ${e.message ?? ''}`.trimEnd(),
    {
      cause: err,
    },
  );
}
