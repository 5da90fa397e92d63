/** Types shared by the SigV4 verifier, the body decoder and the gateway. */

/** How the request body is framed and what protects it (from x-amz-content-sha256). */
export type PayloadMode =
  /** A hex SHA-256 of the body was signed; the body is verified against it as it streams. */
  | 'signed'
  /** UNSIGNED-PAYLOAD (also every presigned URL). */
  | 'unsigned'
  /** STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked, every chunk signed. */
  | 'streaming-signed'
  /** STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: aws-chunked, chunks and trailer signed. */
  | 'streaming-signed-trailer'
  /** STREAMING-UNSIGNED-PAYLOAD-TRAILER: aws-chunked, unsigned chunks, checksum trailer. */
  | 'streaming-unsigned-trailer';

/** Who signed the request, and what the body decoder needs to verify the rest. */
export interface AuthResult {
  accessKey: string;
  payload: PayloadMode;
  /** Hex SHA-256 the client declared for a `signed` payload. */
  contentSha256?: string;
  /** For streaming-signed modes: the seed (request) signature, the signing key and the credential scope. */
  seedSignature?: string;
  signingKey?: Buffer;
  /** `<yyyymmdd>/<region>/s3/aws4_request`. */
  scope?: string;
  /** `X-Amz-Date` of the request (ISO basic). */
  amzDate?: string;
}

/** Looks up a secret key by access key id; undefined when unknown. */
export type CredentialLookup = (accessKey: string) => string | undefined;
