/**
 * A bucket's lifecycle configuration as the engine reads it: decoded from the stored document (the storage layer
 * caches the document for a moment; the decoded form is cached per document, so a burst of writes decodes once).
 */
import type { ObjectLayer } from '../../storage/object-layer';
import { isStorageError } from '../../storage/errors';
import type { LifecycleConfiguration } from '../rules/lifecycle-config';
import { decodeLifecycle } from '../rules/stored-lifecycle';

/** Reads buckets' lifecycle configurations. */
export class BucketRules {
  private readonly decoded = new WeakMap<Buffer, LifecycleConfiguration>();

  constructor(private readonly layer: ObjectLayer) {}

  /** The bucket's configuration, or null when it has none or the bucket is gone. */
  async of(bucket: string): Promise<LifecycleConfiguration | null> {
    let doc: Buffer | null;
    try {
      doc = await this.layer.getBucketLifecycle(bucket);
    } catch (err) {
      if (isStorageError(err, 'BucketNotFound')) return null;
      throw err;
    }
    if (doc === null) return null;
    let config = this.decoded.get(doc);
    if (!config) {
      try {
        config = decodeLifecycle(doc);
      } catch (err) {
        throw new DamagedRulesError(bucket, (err as Error).message);
      }
      this.decoded.set(doc, config);
    }
    return config;
  }
}

/** The stored configuration cannot be read by this release: no retry will help until an operator acts. */
export class DamagedRulesError extends Error {
  constructor(bucket: string, reason: string) {
    super(`lifecycle configuration of bucket ${bucket} is unreadable: ${reason}`);
    this.name = 'DamagedRulesError';
  }
}
