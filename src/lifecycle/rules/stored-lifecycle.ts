/**
 * The stored form of a validated configuration: a versioned JSON document (STYLE.md point 6), kept by the storage
 * layer as the bucket's opaque `lifecycle` config document. JSON of the model rather than the client's XML because
 * the engine reads the rules on every write and scan (no XML parse or re-validation on that path), and because
 * IDs AWS would generate must stay the same from one GET to the next.
 *
 *   { "format": "tiergate.bucket-lifecycle", "version": 1, "config": LifecycleConfiguration }
 */
import {
  type LifecycleConfiguration,
  type LifecycleRule,
  TRANSITION_MIN_SIZE_MODES,
  type TransitionMinSizeMode,
} from './lifecycle-config';

const FORMAT = 'tiergate.bucket-lifecycle';
const VERSION = 1;
const FILTER_KINDS = ['legacy-prefix', 'all', 'prefix', 'tag', 'size-greater-than', 'size-less-than', 'and'];

/** The bytes to store for a validated configuration. */
export function encodeLifecycle(config: LifecycleConfiguration): Buffer {
  return Buffer.from(JSON.stringify({ format: FORMAT, version: VERSION, config }));
}

function isMode(value: unknown): value is TransitionMinSizeMode {
  return TRANSITION_MIN_SIZE_MODES.some((m) => m === value);
}

function looksLikeRule(value: unknown): value is LifecycleRule {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Partial<LifecycleRule>;
  return (
    typeof r.id === 'string' &&
    (r.status === 'Enabled' || r.status === 'Disabled') &&
    typeof r.filter === 'object' &&
    r.filter !== null &&
    FILTER_KINDS.includes(r.filter.kind) &&
    Array.isArray(r.transitions) &&
    Array.isArray(r.noncurrentVersionTransitions)
  );
}

/**
 * Reads a stored configuration back. A document this release cannot read is an internal error (the operator's
 * problem, not the client's), reported with what was wrong.
 */
export function decodeLifecycle(data: Buffer): LifecycleConfiguration {
  let doc: { format?: unknown; version?: unknown; config?: Partial<LifecycleConfiguration> };
  try {
    doc = JSON.parse(data.toString('utf8')) as typeof doc;
  } catch {
    throw new Error('bucket lifecycle document is not JSON');
  }
  if (doc.format !== FORMAT) throw new Error('not a bucket lifecycle document');
  if (doc.version !== VERSION)
    throw new Error(`bucket lifecycle document version ${String(doc.version)} is unknown`);
  const rules = doc.config?.rules;
  const mode = doc.config?.transitionMinSizeMode;
  if (!Array.isArray(rules) || rules.length === 0 || !rules.every(looksLikeRule) || !isMode(mode)) {
    throw new Error('bucket lifecycle document is damaged');
  }
  return { rules, transitionMinSizeMode: mode };
}
