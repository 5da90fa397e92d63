/**
 * PutBucketLifecycleConfiguration's body, parsed and validated as AWS does, in AWS's order: first the schema (every
 * rule's shape, 1 to 1000 rules; all MalformedXML), then each rule's checks in document order (parse-rule.ts,
 * validate-rule.ts), then IDs unique across rules. The first failure is thrown as a LifecycleError.
 */
import { randomUUID } from 'node:crypto';
import {
  LifecycleError,
  type LifecycleConfiguration,
  MAX_RULES,
  TRANSITION_MIN_SIZE_MODES,
  type TransitionMinSizeMode,
} from './lifecycle-config';
import { malformed, onlyChildren, parseDocument, repeated } from './lifecycle-xml';
import { parseRule } from './parse-rule';
import { type StorageClassCheck, validateRule } from './validate-rule';

/** What validation needs from outside the document. */
export interface ParseOptions {
  /** Whether a Transition / NoncurrentVersionTransition may name this storage class (the tier registry). */
  isKnownStorageClass: StorageClassCheck;
  /** The `x-amz-transition-default-minimum-object-size` header, if sent. */
  transitionMinSizeHeader?: string;
  /** IDs for rules sent without one; default: a random UUID in base64, as AWS and Arsenal generate them. */
  newRuleId?: () => string;
}

/** A rule ID like the ones AWS generates: 48 characters of base64 over a random UUID. */
export function randomRuleId(): string {
  return Buffer.from(randomUUID()).toString('base64');
}

/** The transition minimum-size mode a header asks for (AWS's default, 128 KiB for every class, when absent). */
export function parseTransitionMinSizeMode(header: string | undefined): TransitionMinSizeMode {
  if (header === undefined || header === '') return 'all_storage_classes_128K';
  const mode = TRANSITION_MIN_SIZE_MODES.find((m) => m === header);
  if (!mode) {
    throw new LifecycleError(
      'InvalidArgument',
      `Invalid value for x-amz-transition-default-minimum-object-size: ${header}`,
    );
  }
  return mode;
}

/** Parses and validates a LifecycleConfiguration document. */
export function parseLifecycleConfiguration(
  body: Buffer | string,
  opts: ParseOptions,
): LifecycleConfiguration {
  const transitionMinSizeMode = parseTransitionMinSizeMode(opts.transitionMinSizeHeader);
  const root = parseDocument(body, ['LifecycleConfiguration', 'BucketLifecycleConfiguration']);
  onlyChildren(root, ['Rule']);
  const elements = repeated(root, 'Rule');
  if (elements.length === 0 || elements.length > MAX_RULES) throw malformed();
  const newRuleId = opts.newRuleId ?? randomRuleId;
  const parsed = elements.map((e) => parseRule(e, newRuleId));
  const rules = parsed.map((r) => validateRule(r, opts.isKnownStorageClass));
  const ids = new Set<string>();
  for (const { id } of rules) {
    if (ids.has(id)) {
      throw new LifecycleError(
        'InvalidArgument',
        'Rule ID must be unique. Found same ID for more than one rule',
      );
    }
    ids.add(id);
  }
  return { rules, transitionMinSizeMode };
}
