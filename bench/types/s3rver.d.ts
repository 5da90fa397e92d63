/** The part of s3rver 3.x (which ships no types) the S3 benchmark and the tier test fixtures use. */
declare module 's3rver' {
  import type { RequestListener } from 'node:http';
  import type { AddressInfo } from 'node:net';

  interface S3rverOptions {
    address?: string;
    port?: number;
    directory: string;
    silent?: boolean;
    configureBuckets?: { name: string }[];
  }

  /** An in-memory-index, file-backed S3 emulator; run() listens and resolves with the bound address. */
  class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    /** Creates the configured buckets without listening (run() does this, then listens). */
    configureBuckets(): Promise<void>;
    /** Koa's request handler, to serve s3rver from a server of our own. */
    callback(): RequestListener;
  }

  export = S3rver;
}
