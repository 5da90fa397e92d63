/**
 * The internal storage API's wire format, shared by its server (storage-server.ts) and client (remote-drive.ts):
 * the Drive interface, one HTTP request per call, between the nodes of one deployment (DESIGN.md section 1).
 *
 *     POST /tiergate/storage/v1/<op>
 *     x-tiergate-drive: <the drive's directory on the serving node, encodeURIComponent'ed (headers are Latin-1)>
 *     x-tiergate-args:  <base64url JSON of the call's arguments>
 *     x-tiergate-date:  <ms since the epoch>
 *     x-tiergate-auth:  <hex HMAC-SHA256 of the string to sign, keyed by the cluster secret>
 *     body:             the call's bytes (metadata, a whole file, a block of a shard file), or none
 *
 * The string to sign is `op \n drive \n args \n date \n hex SHA-256 of the body`: every byte of a request is
 * signed, so a request cannot be altered on the way, and one older or newer than MAX_SKEW_MS is refused, so a
 * captured request cannot be replayed later. Answers: 200 with the result (bytes, or JSON for structured
 * results), 204 for "nothing" (no metadata, no result), and any failure as JSON `{code, message}` with a
 * StorageErrorCode, which the client throws again as the same StorageError. A walk streams framed entries
 * (encodeFrame) and ends with an end frame or an error frame, so a walk cut short is never taken as complete.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Path prefix of every storage API request. */
export const STORAGE_PATH = '/tiergate/storage/v1/';
/** A request signed further than this from the server's clock is refused (replay window), ms. */
export const MAX_SKEW_MS = 5 * 60_000;
/** Largest request body the server reads (a shard block of a 1 MiB erasure block is far less), bytes. */
export const MAX_BODY = 64 * 1024 * 1024;

export const H_DRIVE = 'x-tiergate-drive';
export const H_ARGS = 'x-tiergate-args';
export const H_DATE = 'x-tiergate-date';
export const H_AUTH = 'x-tiergate-auth';

/** Every call of the API (the Drive interface, file handles split into their own calls). */
export const OPS = [
  'makeVolume',
  'deleteVolume',
  'listVolumes',
  'statVolume',
  'readMeta',
  'writeMeta',
  'deleteMeta',
  'readFile',
  'writeFileAtomic',
  'createFile',
  'writerWrite',
  'writerClose',
  'writerAbort',
  'openFile',
  'readerRead',
  'readerClose',
  'rename',
  'link',
  'delete',
  'list',
  'walk',
  'info',
] as const;
export type StorageOp = (typeof OPS)[number];

const OP_SET = new Set<string>(OPS);
export function isStorageOp(op: string): op is StorageOp {
  return OP_SET.has(op);
}

/** The derived key requests are signed with: the cluster secret is never used directly as a MAC key. */
export function storageKey(secret: string): Buffer {
  return createHmac('sha256', 'tiergate storage api v1').update(secret).digest();
}

/** Signature of one request; a body given in pieces is signed as their concatenation (without making it). */
export function sign(
  key: Buffer,
  op: string,
  drive: string,
  args: string,
  date: string,
  body: Buffer | readonly Buffer[],
): string {
  const hash = createHash('sha256');
  for (const piece of Buffer.isBuffer(body) ? [body] : body) hash.update(piece);
  const bodyHash = hash.digest('hex');
  return createHmac('sha256', key).update(`${op}\n${drive}\n${args}\n${date}\n${bodyHash}`).digest('hex');
}

/** Why a request's signature is refused, or undefined when it is good. */
export function checkSignature(
  key: Buffer,
  op: string,
  drive: string,
  args: string,
  date: string,
  auth: string,
  body: Buffer,
  now = Date.now(),
): string | undefined {
  const at = Number(date);
  if (!/^\d{1,16}$/.test(date) || !Number.isSafeInteger(at)) return 'missing or malformed date';
  if (Math.abs(now - at) > MAX_SKEW_MS)
    return `date ${new Date(at).toISOString()} is outside the replay window`;
  const want = Buffer.from(sign(key, op, drive, args, date, body), 'hex');
  const got = Buffer.from(/^[0-9a-f]{64}$/.test(auth) ? auth : '', 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return 'signature does not match';
  return undefined;
}

export function encodeArgs(args: unknown): string {
  return Buffer.from(JSON.stringify(args ?? {})).toString('base64url');
}

export function decodeArgs(header: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('arguments');
  return parsed as Record<string, unknown>;
}

/** Walk frames: an entry (key, optional metadata, prefix flag), the end, or an error (JSON {code, message}). */
export const FRAME_ENTRY = 1;
export const FRAME_END = 2;
export const FRAME_ERROR = 3;
const FLAG_PREFIX = 1;
const FLAG_META = 2;

/** `[u8 type][u8 flags][u32 key length][u32 payload length][key][payload]` */
export function encodeFrame(type: number, key: string, payload: Buffer | undefined, prefix = false): Buffer {
  const k = Buffer.from(key, 'utf8');
  const p = payload ?? Buffer.alloc(0);
  const head = Buffer.allocUnsafe(10);
  head.writeUInt8(type, 0);
  head.writeUInt8((prefix ? FLAG_PREFIX : 0) | (payload ? FLAG_META : 0), 1);
  head.writeUInt32BE(k.length, 2);
  head.writeUInt32BE(p.length, 6);
  return Buffer.concat([head, k, p]);
}

export interface Frame {
  type: number;
  key: string;
  payload?: Buffer;
  prefix: boolean;
}

/** Splits complete frames off the front of `buf`; returns them and the unconsumed rest. */
export function decodeFrames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let pos = 0;
  while (buf.length - pos >= 10) {
    const type = buf.readUInt8(pos);
    const flags = buf.readUInt8(pos + 1);
    const keyLen = buf.readUInt32BE(pos + 2);
    const payloadLen = buf.readUInt32BE(pos + 6);
    if (keyLen > MAX_BODY || payloadLen > MAX_BODY) throw new Error('walk frame too large');
    const end = pos + 10 + keyLen + payloadLen;
    if (buf.length < end) break;
    const key = buf.toString('utf8', pos + 10, pos + 10 + keyLen);
    const payload = flags & FLAG_META ? Buffer.from(buf.subarray(pos + 10 + keyLen, end)) : undefined;
    frames.push({ type, key, payload, prefix: (flags & FLAG_PREFIX) !== 0 });
    pos = end;
  }
  return { frames, rest: buf.subarray(pos) };
}
