import type { ClusterLock } from './object-locks';

/** How the storage engine is laid out; built from validated config by the caller (storage/ reads no env). */
export interface StorageOptions {
  /**
   * Drives in order: local directories (one per disk in production), or in a cluster, the URLs of every node's
   * drives, `http://<node host>:<storage port>/<directory on that node>` (the same list, in the same order, on
   * every node; the ones whose origin is `node.url` are this node's own).
   */
  drives: string[];
  /** This node in a cluster (required when a drive is a URL). */
  node?: StorageNode;
  /** The cluster-wide exclusive lock (required when a drive is a URL; the gateway's is in Redis). */
  clusterLock?: ClusterLock;
  /** Drives per erasure set (2-16); by default chosen so all drives split into equal sets of at most 16. */
  setDriveCount?: number;
  /** Parity shards per set; by default from the set size (2-3 → 1, 4-5 → 2, 6-7 → 3, 8+ → 4). */
  parity?: number;
  /** Objects of at most this many bytes are stored inside their metadata files. Default 128 KiB. */
  inlineThreshold?: number;
  /** Erasure block size in bytes. Default 1 MiB. */
  blockSize?: number;
  /** fsync files and directories on commit (default true; only benchmarks of raw code paths turn it off). */
  fsync?: boolean;
  /** Called for every operational event worth a log line (drive offline, heal, cleanup). */
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** This node of a cluster: where it serves its drives to the others, and the secret requests are signed with. */
export interface StorageNode {
  /** Origin of this node's storage API, as the drive URLs name it (`http://10.0.1.5:9100`); it listens there. */
  url: string;
  /** Shared by every node of the deployment (the gateway uses its root secret key). */
  secret: string;
  /** How long boot waits for the other nodes' drives to answer, ms (default 120 s). */
  bootWaitMs?: number;
}
