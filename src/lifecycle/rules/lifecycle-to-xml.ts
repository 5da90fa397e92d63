/**
 * GetBucketLifecycleConfiguration's answer: the body of the `<LifecycleConfiguration>` root as an element tree
 * (the S3 layer's XML writer renders it with the namespace). Elements come in the order AWS's own answers use
 * (ID, Filter or Prefix, Status, then the actions), and the filter keeps the form the client sent it in.
 */
import type { LifecycleConfiguration, LifecycleRule, LifecycleTag, RuleFilter } from './lifecycle-config';
import type { XmlTree } from './lifecycle-xml';

function tagXml(t: LifecycleTag): XmlTree {
  return { Key: t.key, Value: t.value };
}

function filterXml(f: Exclude<RuleFilter, { kind: 'legacy-prefix' }>): XmlTree {
  switch (f.kind) {
    case 'all':
      return {};
    case 'prefix':
      return { Prefix: f.prefix };
    case 'tag':
      return { Tag: tagXml(f.tag) };
    case 'size-greater-than':
      return { ObjectSizeGreaterThan: f.bytes };
    case 'size-less-than':
      return { ObjectSizeLessThan: f.bytes };
    case 'and':
      return {
        And: {
          Prefix: f.prefix,
          Tag: f.tags.map(tagXml),
          ObjectSizeGreaterThan: f.sizeGreaterThan,
          ObjectSizeLessThan: f.sizeLessThan,
        },
      };
  }
}

function ruleXml(r: LifecycleRule): XmlTree {
  const e = r.expiration;
  return {
    ID: r.id,
    Prefix: r.filter.kind === 'legacy-prefix' ? r.filter.prefix : undefined,
    Filter: r.filter.kind === 'legacy-prefix' ? undefined : filterXml(r.filter),
    Status: r.status,
    Transition: r.transitions.map((t) =>
      'days' in t
        ? { Days: t.days, StorageClass: t.storageClass }
        : { Date: t.date, StorageClass: t.storageClass },
    ),
    Expiration:
      e === undefined
        ? undefined
        : 'days' in e
          ? { Days: e.days }
          : 'date' in e
            ? { Date: e.date }
            : { ExpiredObjectDeleteMarker: String(e.expiredObjectDeleteMarker) },
    NoncurrentVersionTransition: r.noncurrentVersionTransitions.map((t) => ({
      NoncurrentDays: t.noncurrentDays,
      StorageClass: t.storageClass,
      NewerNoncurrentVersions: t.newerNoncurrentVersions,
    })),
    NoncurrentVersionExpiration: r.noncurrentVersionExpiration && {
      NoncurrentDays: r.noncurrentVersionExpiration.noncurrentDays,
      NewerNoncurrentVersions: r.noncurrentVersionExpiration.newerNoncurrentVersions,
    },
    AbortIncompleteMultipartUpload: r.abortIncompleteMultipartUpload && {
      DaysAfterInitiation: r.abortIncompleteMultipartUpload.daysAfterInitiation,
    },
  };
}

/** The children of `<LifecycleConfiguration>` for a configuration. */
export function lifecycleToXml(config: LifecycleConfiguration): XmlTree {
  return { Rule: config.rules.map(ruleXml) };
}
