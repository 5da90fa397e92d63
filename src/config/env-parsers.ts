/**
 * Small pure validators for single environment values. Each returns the typed value or throws an Error whose
 * message says what is wrong; loadConfig prefixes it with the variable's name. Validators of secrets never echo
 * the value.
 */
import { Secret } from './secret';

/** A parser of one raw (non-empty) environment value. */
export type EnvParser<T> = (raw: string) => T;

/** A whole number within [min, max]; no sign, no decimals, no exponent. */
export function integer(min: number, max: number): EnvParser<number> {
  return (raw) => {
    const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new Error(`"${raw}" is not a whole number from ${min} to ${max}`);
    }
    return value;
  };
}

/** One of a fixed set of words (case-sensitive, as documented). */
export function oneOf<const T extends string>(choices: readonly T[]): EnvParser<T> {
  return (raw) => {
    if (!(choices as readonly string[]).includes(raw)) {
      throw new Error(`"${raw}" is not one of ${choices.join(', ')}`);
    }
    return raw as T;
  };
}

/** An S3 access key id: 3-128 characters that survive a SigV4 Credential header unescaped. */
export const accessKeyId: EnvParser<string> = (raw) => {
  if (!/^[A-Za-z0-9._@+-]{3,128}$/.test(raw)) {
    throw new Error(`"${raw}" must be 3-128 characters of A-Z a-z 0-9 . _ @ + -`);
  }
  return raw;
};

/** An S3 secret key: 8-128 printable ASCII characters without spaces (the MinIO rule). */
export const secretAccessKey: EnvParser<Secret> = (raw) => {
  if (!/^[\x21-\x7e]{8,128}$/.test(raw)) {
    throw new Error('must be 8-128 printable ASCII characters without spaces');
  }
  return new Secret(raw);
};

/** A Redis key prefix for the queues: letters, digits, `_ . -`, 1-64 characters (no `:`, BullMQ's separator). */
export const keyPrefix: EnvParser<string> = (raw) => {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(raw)) {
    throw new Error(`"${raw}" is not 1-64 letters, digits, '_', '.' or '-'`);
  }
  return raw;
};

/** A `redis://` or `rediss://` URL; kept secret because it may carry a password. */
export const redisUrl: EnvParser<Secret> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('is not a URL; expected redis://[user:password@]host:port[/db] or rediss://...');
  }
  if ((url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '') {
    throw new Error(`expected redis://host:port or rediss://host:port, got a ${url.protocol} URL`);
  }
  return new Secret(raw);
};

/** An http(s) endpoint URL, e.g. a KMS endpoint override. */
export const httpUrl: EnvParser<string> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`"${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`"${raw}" is not an http:// or https:// URL`);
  }
  return raw;
};

/** A cluster node's storage API origin, `http://host:port` (nothing after the port). */
export const nodeUrl: EnvParser<string> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`"${raw}" is not a URL`);
  }
  if (url.protocol !== 'http:' || !url.port || url.username || url.password) {
    throw new Error(`"${raw}" is not http://host:port`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new Error(`"${raw}": give the origin only (http://host:port), no path`);
  }
  return url.origin;
};

/** A cloud region name such as `us-east-1` or `cn-hangzhou`. */
export const regionName: EnvParser<string> = (raw) => {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(raw) || raw.length > 64) {
    throw new Error(`"${raw}" is not a region name like us-east-1 or cn-hangzhou`);
  }
  return raw;
};

/** A KMS key id, ARN or alias: anything non-blank without whitespace. */
export const kmsKeyId: EnvParser<string> = (raw) => {
  if (!/^\S{1,2048}$/.test(raw)) throw new Error(`"${raw}" must be a key id, ARN or alias without spaces`);
  return raw;
};

/** A 256-bit key written as 64 hex digits or as base64 (what `openssl rand -base64 32` prints). */
export const masterKey: EnvParser<Secret<Buffer>> = (raw) => {
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(raw)) key = Buffer.from(raw, 'hex');
  else if (/^[A-Za-z0-9+/]{43}=?$/.test(raw)) key = Buffer.from(raw, 'base64');
  if (key?.length !== 32) {
    throw new Error('must be a 256-bit key: 64 hex digits or 44 base64 characters (openssl rand -base64 32)');
  }
  return new Secret(key);
};

/** A comma-separated list of DNS domain names (lower-cased, no scheme, no port). */
export function domainList(raw: string): readonly string[] {
  const domains = raw
    .split(',')
    .map((d) => d.trim().toLowerCase())
    .filter((d) => d !== '');
  for (const d of domains) {
    if (
      !/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(d)
    ) {
      throw new Error(`"${d}" is not a domain name (write it without scheme or port)`);
    }
  }
  if (domains.length === 0) throw new Error('no domain given');
  return domains;
}
