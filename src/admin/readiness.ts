/**
 * Readiness: the gateway can serve S3 only while every erasure set has read and write quorum (an object may land
 * in, or be read from, any set). Pure, so the rule is tested on status tables without breaking drives.
 */
import type { DriveStatus, StorageStatus } from '../storage/object-layer';

/** The per-set state a readiness probe reports (drive indexes and states; endpoints stay in the admin API). */
export interface SetReadiness {
  index: number;
  dataShards: number;
  parityShards: number;
  readQuorum: boolean;
  writeQuorum: boolean;
  drivesOnline: number;
  drives: { drive: number; state: DriveStatus['state'] }[];
}

/** Body of /tiergate/health/ready. */
export interface Readiness {
  status: 'ready' | 'unready';
  sets: SetReadiness[];
  /** Why the storage status could not be read, when it could not. */
  error?: string;
}

/** Ready iff the status was read, lists at least one set, and every set has both quorums. */
export function readiness(status: StorageStatus | undefined): Readiness {
  if (status === undefined) return { status: 'unready', sets: [], error: 'storage status unavailable' };
  const sets = status.sets.map((s): SetReadiness => ({
    index: s.index,
    dataShards: s.dataShards,
    parityShards: s.parityShards,
    readQuorum: s.readQuorum,
    writeQuorum: s.writeQuorum,
    drivesOnline: s.drives.filter((d) => d.state === 'ok' || d.state === 'healing').length,
    drives: s.drives.map((d) => ({ drive: d.driveIndex, state: d.state })),
  }));
  const ready = sets.length > 0 && sets.every((s) => s.readQuorum && s.writeQuorum);
  return { status: ready ? 'ready' : 'unready', sets };
}
