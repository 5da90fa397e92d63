/** How the storage engine is laid out; built from validated config by the caller (storage/ reads no env). */
export interface StorageOptions {
  /** Drive directories (one per disk in production), in order. */
  drives: string[];
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
