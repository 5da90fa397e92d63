/**
 * How a node of a cluster opens its pool (DESIGN.md section 1): which configured drives are its own and which are
 * other nodes' (reached through the storage API), and the boot that waits for the other nodes' drives and for the
 * deployment's format.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Drive } from '../drive/drive';
import { isStorageError, storageError } from '../errors';
import type { StorageOptions } from '../storage-options';
import { RemoteDrive } from './remote-drive';

type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

/** Where each configured drive is: a directory of this node, or a URL of another node's. */
export function placeDrives(options: StorageOptions): ({ local: string } | { remote: string })[] {
  const urls = options.drives.filter((d) => isUrl(d));
  if (urls.length === 0) return options.drives.map((local) => ({ local }));
  if (urls.length !== options.drives.length)
    throw storageError('InvalidArgument', 'drives must be all directories or all URLs (a cluster)');
  if (!options.node) throw storageError('InvalidArgument', "drive URLs need this node's storage URL");
  if (!options.clusterLock) throw storageError('InvalidArgument', 'a cluster needs a cluster-wide lock');
  const origin = new URL(options.node.url).origin;
  const placed = options.drives.map((d) => {
    const url = new URL(d);
    return url.origin === origin ? { local: decodeURIComponent(url.pathname) } : { remote: d };
  });
  if (!placed.some((p) => 'local' in p))
    throw storageError('InvalidArgument', `no drive is this node's (${origin}): check the node URL`);
  return placed;
}

function isUrl(drive: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(drive);
}

/** Errors of a cluster's boot that another node's progress cures: wait and try again. */
const BOOT_RETRY = ['UnformattedDrive', 'InvalidFormat', 'DriveOffline'] as const;

/**
 * Opens the pool as one node of a cluster. Waits (up to `bootWaitMs`) until every drive answers, so no node forms
 * its layout with another node's drives missing just because that node started a moment later; after the wait it
 * goes on with the drives that answered. Only the node of the first drive formats a fresh deployment: the others
 * wait for its format (two nodes formatting at once would make two deployments).
 */
export async function openClusterNode<T>(
  drives: Drive[],
  bootWaitMs: number,
  log: Log,
  /** Opens the pool; `mayFormat` is false unless this node serves the first drive. */
  open: (mayFormat: boolean) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + bootWaitMs;
  let lastReport = 0;
  for (;;) {
    const down = (
      await Promise.all(
        drives.map((d) =>
          d.info().then(
            () => null,
            () => d.endpoint,
          ),
        ),
      )
    ).filter((e): e is string => e !== null);
    if (down.length === 0 || Date.now() >= deadline) {
      if (down.length > 0)
        log('warn', `booting without ${down.length} drive(s) that do not answer: ${down.join(', ')}`);
      break;
    }
    if (Date.now() - lastReport >= 10_000) {
      lastReport = Date.now();
      log('info', `waiting for ${down.length} drive(s) of other nodes: ${down.join(', ')}`);
    }
    await delay(500);
  }
  const mayFormat = !(drives[0] instanceof RemoteDrive);
  for (;;) {
    try {
      return await open(mayFormat);
    } catch (err) {
      if (!isStorageError(err, ...BOOT_RETRY) || Date.now() >= deadline) throw err;
      if (Date.now() - lastReport >= 10_000) {
        lastReport = Date.now();
        log('info', `waiting for the deployment's format: ${(err as Error).message}`);
      }
      await delay(500);
    }
  }
}
