/**
 * TIERGATE_DRIVES: the drive directories, as a comma list whose entries may hold MinIO-style ellipsis ranges.
 * `/mnt/disk{1...4}` is /mnt/disk1../mnt/disk4; `{01...16}` keeps the zero padding of its start; several ranges in one
 * entry expand as nested loops, the leftmost slowest (`/mnt/d{1...2}/x{1...2}` -> d1/x1, d1/x2, d2/x1, d2/x2).
 * Order matters: it is the order in which drives are grouped into erasure sets.
 */
import { dirname, resolve } from 'node:path';

/** Upper bound on the drives one value may expand to, so a typo like `{1...100000}` fails instead of exhausting memory. */
export const MAX_DRIVES = 1024;

/** Fewest drives an erasure set (and so a deployment) can have. */
export const MIN_DRIVES = 2;

const RANGE_GROUP = /\{([^{}]*)\}/g;

function expandRange(inner: string): string[] {
  const match = /^(\d+)\.\.\.(\d+)$/.exec(inner);
  if (!match) throw new Error(`"{${inner}}" is not a range like {1...4}`);
  const [, first, last] = match;
  const start = Number(first);
  const end = Number(last);
  if (start > end) throw new Error(`range {${inner}} runs backwards`);
  if (end - start + 1 > MAX_DRIVES)
    throw new Error(`range {${inner}} expands to more than ${MAX_DRIVES} drives`);
  const width = first.length > 1 && first.startsWith('0') ? first.length : 0;
  const out: string[] = [];
  for (let i = start; i <= end; i++) out.push(String(i).padStart(width, '0'));
  return out;
}

function literal(text: string, pattern: string): string {
  if (/[{}]/.test(text)) throw new Error(`unbalanced brace in "${pattern}"`);
  return text;
}

/** Expands every `{a...b}` range of one entry; throws on malformed braces or an oversized expansion. */
export function expandEllipses(pattern: string): string[] {
  const parts: string[][] = [];
  let last = 0;
  for (const match of pattern.matchAll(RANGE_GROUP)) {
    parts.push([literal(pattern.slice(last, match.index), pattern)], expandRange(match[1]));
    last = match.index + match[0].length;
  }
  parts.push([literal(pattern.slice(last), pattern)]);
  const total = parts.reduce((n, choices) => n * choices.length, 1);
  if (total > MAX_DRIVES) throw new Error(`"${pattern}" expands to ${total} drives, more than ${MAX_DRIVES}`);
  return parts.reduce<string[]>(
    (acc, choices) => acc.flatMap((prefix) => choices.map((c) => prefix + c)),
    [''],
  );
}

/**
 * Parses the whole TIERGATE_DRIVES value: absolute, distinct, non-nested directories (relative entries are
 * resolved against `cwd`), or, for a cluster, drive URLs `http://<node host>:<port>/<absolute directory>` (ranges
 * allowed anywhere, `http://10.0.1.{1...4}:9100/mnt/disk{1...4}`), returned as normalised URLs. Directories and
 * URLs cannot be mixed. Throws an Error saying which entry is wrong.
 */
export function parseDriveList(value: string, cwd: string): string[] {
  const drives: string[] = [];
  let urls = 0;
  value.split(',').forEach((raw, index) => {
    const entry = raw.trim();
    if (entry === '') throw new Error(`entry ${index + 1} is empty`);
    for (const drive of expandEllipses(entry)) {
      if (isDriveUrl(drive)) {
        urls++;
        drives.push(parseDriveUrl(drive));
      } else drives.push(resolve(cwd, drive));
    }
  });
  if (urls > 0 && urls !== drives.length) {
    throw new Error('list either local directories or, for a cluster, drive URLs, not both');
  }
  if (drives.length > MAX_DRIVES) throw new Error(`${drives.length} drives, more than ${MAX_DRIVES}`);
  if (drives.length < MIN_DRIVES) {
    throw new Error(`only ${drives.length} drive given; erasure coding needs at least ${MIN_DRIVES}`);
  }
  const seen = new Set<string>();
  for (const drive of drives) {
    if (seen.has(drive)) throw new Error(`drive ${drive} is listed twice`);
    seen.add(drive);
  }
  for (const drive of drives) {
    const { origin, dir: start } = splitDrive(drive);
    let dir = start;
    while (dir !== dirname(dir)) {
      dir = dirname(dir);
      const parent = origin + dir;
      if (seen.has(parent)) throw new Error(`drive ${drive} lies inside drive ${parent}`);
    }
  }
  return drives;
}

/** True for an entry written as a URL (`scheme://...`). */
export function isDriveUrl(entry: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(entry);
}

/** Checks one drive URL and returns it normalised (`http://host:port/dir`, no trailing slash). */
function parseDriveUrl(entry: string): string {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    throw new Error(`"${entry}" is not a URL`);
  }
  if (url.protocol !== 'http:') throw new Error(`"${entry}": drive URLs are http://host:port/directory`);
  if (url.username || url.password || url.search || url.hash)
    throw new Error(`"${entry}": a drive URL has no credentials, query or fragment`);
  if (!url.port) throw new Error(`"${entry}": give the node's storage port (http://host:port/directory)`);
  const dir = decodeURIComponent(url.pathname).replace(/\/+$/, '');
  if (/[%#?]/.test(dir)) {
    throw new Error(`"${entry}": a drive directory named in a URL may not hold %, # or ?`);
  }
  if (dir === '' || dir !== resolve(dir)) {
    throw new Error(`"${entry}": the directory must be an absolute, normalised path on that node`);
  }
  return url.origin + dir;
}

/** A drive's origin ('' for a local directory) and directory. */
export function splitDrive(drive: string): { origin: string; dir: string } {
  if (!isDriveUrl(drive)) return { origin: '', dir: drive };
  const url = new URL(drive);
  return { origin: url.origin, dir: decodeURIComponent(url.pathname) };
}

/** The directories of this node's own drives: all of them, or in a cluster those served at `nodeUrl`. */
export function localDriveDirs(drives: readonly string[], nodeUrl: string | undefined): string[] {
  const origin = nodeUrl ? new URL(nodeUrl).origin : '';
  return drives
    .map(splitDrive)
    .filter((d) => d.origin === origin)
    .map((d) => d.dir);
}
