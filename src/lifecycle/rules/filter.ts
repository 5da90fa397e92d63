/**
 * What a rule's filter asks of an object, whatever XML form it had: a key prefix, tags that must all be present
 * with exactly these values (extra tags on the object do not matter), and exclusive size bounds. Also the filter's
 * description in AWS's validation messages ("for filter '(prefix=logs/)'", "for prefix 'logs/'"). Pure.
 */
import type { LifecycleTag, RuleFilter } from './lifecycle-config';

/** A filter as plain conditions. */
export interface FilterPredicates {
  prefix: string;
  tags: LifecycleTag[];
  /** Exclusive lower bound in bytes. */
  sizeGreaterThan?: number;
  /** Exclusive upper bound in bytes. */
  sizeLessThan?: number;
}

/** The conditions of a filter. */
export function predicatesOf(filter: RuleFilter): FilterPredicates {
  switch (filter.kind) {
    case 'legacy-prefix':
    case 'prefix':
      return { prefix: filter.prefix, tags: [] };
    case 'all':
      return { prefix: '', tags: [] };
    case 'tag':
      return { prefix: '', tags: [filter.tag] };
    case 'size-greater-than':
      return { prefix: '', tags: [], sizeGreaterThan: filter.bytes };
    case 'size-less-than':
      return { prefix: '', tags: [], sizeLessThan: filter.bytes };
    case 'and':
      return {
        prefix: filter.prefix ?? '',
        tags: filter.tags,
        sizeGreaterThan: filter.sizeGreaterThan,
        sizeLessThan: filter.sizeLessThan,
      };
  }
}

/** True when the filter names an object size (AWS: such rules override the default 128 KiB transition minimum). */
export function hasSizePredicate(filter: RuleFilter): boolean {
  const p = predicatesOf(filter);
  return p.sizeGreaterThan !== undefined || p.sizeLessThan !== undefined;
}

/** What matching needs to know about an object version. */
export interface FilterSubject {
  key: string;
  size: number;
  tags: Readonly<Record<string, string>>;
}

/** True when the object satisfies every condition of the filter. */
export function filterMatches(filter: RuleFilter, subject: FilterSubject): boolean {
  const p = predicatesOf(filter);
  if (!subject.key.startsWith(p.prefix)) return false;
  if (p.sizeGreaterThan !== undefined && !(subject.size > p.sizeGreaterThan)) return false;
  if (p.sizeLessThan !== undefined && !(subject.size < p.sizeLessThan)) return false;
  return p.tags.every((t) => Object.hasOwn(subject.tags, t.key) && subject.tags[t.key] === t.value);
}

/** The filter as AWS's messages name it (after Arsenal's `_getRuleFilterDesc`). */
export function describeFilter(filter: RuleFilter): string {
  if (filter.kind === 'legacy-prefix') return `prefix '${filter.prefix}'`;
  if (filter.kind === 'all') return 'filter (all)';
  const p = predicatesOf(filter);
  const parts: string[] = [];
  if (filter.kind === 'prefix' || (filter.kind === 'and' && filter.prefix !== undefined)) {
    parts.push(`prefix=${p.prefix}`);
  }
  for (const t of p.tags) parts.push(`tag: key=${t.key}, value=${t.value}`);
  if (p.sizeGreaterThan !== undefined) parts.push(`ObjectSizeGreaterThan=${p.sizeGreaterThan}`);
  if (p.sizeLessThan !== undefined) parts.push(`ObjectSizeLessThan=${p.sizeLessThan}`);
  return `filter '(${parts.join(' and ')})'`;
}
