/**
 * The stored form of the tier registry: one deployment-wide system document (`ObjectLayer` system config `tiers`,
 * on every drive, read by majority), versioned JSON so a later release can read an older one:
 *
 *   {"format":"tiergate.tiers","version":1,"generation":7,"writeId":"...","tiers":[
 *     {"name":"COLD","type":"s3","endpoint":"https://...","region":"eu-west-1","bucket":"b","prefix":"p/",
 *      "storageClass":"STANDARD_IA","credentials":"static","generation":7,"state":"active",
 *      "updated":"2027-01-01T00:00:00.000Z",
 *      "sealed":{"alg":"AES-256-GCM","keyId":"...","dataKey":"<b64>","iv":"<b64>","ciphertext":"<b64>","tag":"<b64>"}}]}
 *
 * Key hierarchy (envelope): the KMS master key seals a fresh 256-bit data key per tier write (KMS encryption
 * context `{purpose: "tier-credentials", tier: <name>}`); the data key seals `{"accessKey","secretKey"}` with
 * AES-256-GCM (random 96-bit IV, AAD `tiergate.tiers/1/<name>`), so neither a sealed blob moved to another tier nor
 * one opened with another context yields credentials. Invariant: no plaintext key of a tier is ever written; the
 * access key is sealed too (it is not secret, but there is nothing to gain from storing it twice). A tier without
 * keys (`credentials: "default-chain"`: instance profile / RAM role) has no `sealed` field.
 *
 * `generation` increases by one with every write; each tier records the generation that last wrote it, which is
 * what TierEntry.generation and `If-Match` compare. `writeId` (random per write) lets a writer read back and see
 * that the document on the drives is the one it wrote.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KmsProvider } from '../kms/kms-provider';
import { hasStaticKeys, type TierDefinition, type TierType } from './tier-definition';

/** The format tag and version this code writes (and the only ones it reads). */
export const TIERS_FORMAT = 'tiergate.tiers';
export const TIERS_VERSION = 1;
/** System config name of the document. */
export const TIERS_CONFIG_NAME = 'tiers';

/** Where a tier's credentials come from. */
export type CredentialSource = 'static' | 'default-chain';

/** `removing`: a DELETE is checking for references; no new transition may start into the tier meanwhile. */
export type TierLifecycleState = 'active' | 'removing';

/** Static keys sealed under a KMS data key (all binary fields base64). */
export interface SealedCredentials {
  alg: 'AES-256-GCM';
  keyId: string;
  dataKey: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

/** One tier as stored: its definition without keys, plus bookkeeping. */
export interface StoredTier {
  name: string;
  type: TierType;
  endpoint?: string;
  region: string;
  bucket: string;
  prefix: string;
  storageClass: string;
  credentials: CredentialSource;
  sealed?: SealedCredentials;
  generation: number;
  state: TierLifecycleState;
  updated: string;
}

/** The whole document. */
export interface TiersDocument {
  format: typeof TIERS_FORMAT;
  version: typeof TIERS_VERSION;
  generation: number;
  writeId: string;
  tiers: StoredTier[];
}

/** The document of a deployment that never stored a tier. */
export function emptyDocument(): TiersDocument {
  return { format: TIERS_FORMAT, version: TIERS_VERSION, generation: 0, writeId: '', tiers: [] };
}

/** The stored document is unreadable (damaged, or written by a newer release). */
export class TiersDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TiersDocumentError';
  }
}

/** Parses the stored bytes; null (never stored) is the empty document. */
export function decodeDocument(bytes: Buffer | null): TiersDocument {
  if (bytes === null) return emptyDocument();
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new TiersDocumentError('the stored tier registry is not JSON');
  }
  const d = doc as Partial<TiersDocument> | null;
  if (d === null || typeof d !== 'object' || d.format !== TIERS_FORMAT)
    throw new TiersDocumentError('the stored tier registry is not a tiergate.tiers document');
  if (d.version !== TIERS_VERSION)
    throw new TiersDocumentError(
      `the stored tier registry has version ${String(d.version)}; this release reads version ${TIERS_VERSION}`,
    );
  if (!Number.isSafeInteger(d.generation) || !Array.isArray(d.tiers))
    throw new TiersDocumentError('the stored tier registry lacks its generation or its tiers');
  return d as TiersDocument;
}

/** The bytes to store. */
export function encodeDocument(doc: TiersDocument): Buffer {
  return Buffer.from(JSON.stringify(doc), 'utf8');
}

/** KMS encryption context of a tier's credentials. */
export function credentialContext(name: string): Record<string, string> {
  return { purpose: 'tier-credentials', tier: name };
}

function aad(name: string): Buffer {
  return Buffer.from(`${TIERS_FORMAT}/${TIERS_VERSION}/${name}`, 'utf8');
}

/** The stored form of `def`; its keys (if any) sealed under a fresh KMS data key. */
export async function sealTier(
  def: TierDefinition,
  kms: KmsProvider,
  generation: number,
  state: TierLifecycleState = 'active',
): Promise<StoredTier> {
  const stored: StoredTier = {
    name: def.name,
    type: def.type,
    ...(def.endpoint ? { endpoint: def.endpoint } : {}),
    region: def.region,
    bucket: def.bucket,
    prefix: def.prefix,
    storageClass: def.storageClass,
    credentials: hasStaticKeys(def) ? 'static' : 'default-chain',
    generation,
    state,
    updated: new Date().toISOString(),
  };
  if (!hasStaticKeys(def)) return stored;
  const key = await kms.generateDataKey(credentialContext(def.name));
  try {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.plaintext, iv);
    cipher.setAAD(aad(def.name));
    const plaintext = Buffer.from(JSON.stringify({ accessKey: def.accessKey, secretKey: def.secretKey }));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    plaintext.fill(0);
    stored.sealed = {
      alg: 'AES-256-GCM',
      keyId: key.keyId,
      dataKey: key.sealed.toString('base64'),
      iv: iv.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
    };
    return stored;
  } finally {
    key.destroy();
  }
}

/** The definition `stored` describes, its keys unsealed through the KMS (KmsError or a GCM failure otherwise). */
export async function unsealTier(stored: StoredTier, kms: KmsProvider): Promise<TierDefinition> {
  const def: TierDefinition = {
    name: stored.name,
    type: stored.type,
    ...(stored.endpoint ? { endpoint: stored.endpoint } : {}),
    region: stored.region,
    bucket: stored.bucket,
    prefix: stored.prefix,
    storageClass: stored.storageClass,
  };
  if (stored.credentials !== 'static') return def;
  const s = stored.sealed;
  if (s === undefined || s.alg !== 'AES-256-GCM')
    throw new TiersDocumentError(`tier ${stored.name}: static credentials without a sealed blob`);
  const key = await kms.decrypt(
    { sealed: Buffer.from(s.dataKey, 'base64'), keyId: s.keyId },
    credentialContext(stored.name),
  );
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.plaintext, Buffer.from(s.iv, 'base64'));
    decipher.setAAD(aad(stored.name));
    decipher.setAuthTag(Buffer.from(s.tag, 'base64'));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([decipher.update(Buffer.from(s.ciphertext, 'base64')), decipher.final()]);
    } catch {
      throw new TiersDocumentError(`tier ${stored.name}: the sealed credentials fail authentication`);
    }
    const keys = JSON.parse(plaintext.toString('utf8')) as { accessKey: string; secretKey: string };
    plaintext.fill(0);
    return { ...def, accessKey: keys.accessKey, secretKey: keys.secretKey };
  } finally {
    key.destroy();
  }
}
