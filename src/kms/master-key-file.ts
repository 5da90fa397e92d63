/**
 * The local KMS master key file, `<data root>/kms/master.key`, used when TIERGATE_KMS_SECRET_KEY is not set.
 *
 * Format (text, so an operator can back it up or move it into TIERGATE_KMS_SECRET_KEY):
 *   line 1: `tiergate-kms-master-key v1`
 *   line 2: the 32-byte key in base64 (44 characters)
 *
 * Invariants: created once, atomically and exclusively (written and fsynced under a temporary name, then hard-linked
 * to its name, which fails if another process got there first; the directory is fsynced), with mode 0600 in a
 * 0700 directory; reused on every later start. A file that other users can read or write (any group/other mode
 * bit), that is not a regular file, or whose content is not exactly the format above is refused with a message
 * naming the path and the fix, never the content. Losing this file loses every object sealed under it.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const HEADER_LINE = 'tiergate-kms-master-key v1';
const MAX_FILE_BYTES = 256;

/** The key file is unusable; the message says why and what to do. */
export class MasterKeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyFileError';
  }
}

/** Reads the master key at `path`, creating the file first if there is none. */
export async function loadOrCreateMasterKey(path: string): Promise<{ key: Buffer; created: boolean }> {
  try {
    return { key: await readMasterKey(path), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const created = await createMasterKey(path);
  return created ? { key: created, created: true } : { key: await readMasterKey(path), created: false };
}

/** Reads and checks an existing key file (ENOENT passes through as is). */
export async function readMasterKey(path: string): Promise<Buffer> {
  const handle = await fs
    .open(path, constants.O_RDONLY | constants.O_NOFOLLOW)
    .catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ELOOP')
        throw new MasterKeyFileError(
          `${path} is a symbolic link; the KMS master key file must be a regular file`,
        );
      throw err;
    });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new MasterKeyFileError(`${path} is not a regular file`);
    if ((stat.mode & 0o077) !== 0) {
      throw new MasterKeyFileError(
        `${path} is accessible by other users (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}); ` +
          `the KMS master key file must be private: chmod 600 ${path}`,
      );
    }
    if (stat.size > MAX_FILE_BYTES)
      throw new MasterKeyFileError(`${path} is ${stat.size} bytes, too long for a master key file`);
    const text = (await handle.readFile()).toString('latin1');
    return parseKeyFile(path, text);
  } finally {
    await handle.close();
  }
}

function parseKeyFile(path: string, text: string): Buffer {
  const lines = text.split('\n');
  const valid =
    lines.length === 3 &&
    lines[0] === HEADER_LINE &&
    /^[A-Za-z0-9+/]{43}=$/.test(lines[1]) &&
    lines[2] === '';
  const key = valid ? Buffer.from(lines[1], 'base64') : undefined;
  if (key?.length !== 32) {
    throw new MasterKeyFileError(
      `${path} is not a tiergate master key file (expected "${HEADER_LINE}" and a base64 256-bit key); ` +
        `restore it from your backup, or remove it only if no object was ever sealed with it`,
    );
  }
  return key;
}

/** Creates the key file; returns the new key, or undefined when another process created the file first. */
async function createMasterKey(path: string): Promise<Buffer | undefined> {
  const dir = dirname(path);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  const content = Buffer.from(`${HEADER_LINE}\n${key.toString('base64')}\n`, 'latin1');
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await handle.chmod(0o600); // in case the umask was unusual; a group or world bit must never be set
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    content.fill(0);
    await handle.close();
  }
  try {
    await fs.link(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      key.fill(0);
      return undefined;
    }
    throw err;
  } finally {
    await fs.unlink(temp);
  }
  await syncDir(dir);
  return key;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
