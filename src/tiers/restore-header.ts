/**
 * The restore header both clouds send on HEAD of an archive-class object once a restore was requested
 * (`x-amz-restore` / `x-oss-restore`, same grammar): `ongoing-request="true"` while it runs, then
 * `ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"`.
 */
import type { TierRestoreStatus } from './tier-backend';

/** Parses a restore header; undefined when absent or unreadable. */
export function parseRestoreHeader(value: string | undefined): TierRestoreStatus | undefined {
  if (value === undefined || value === '') return undefined;
  const ongoing = /ongoing-request\s*=\s*"(true|false)"/i.exec(value);
  if (!ongoing) return undefined;
  const status: TierRestoreStatus = { ongoing: ongoing[1].toLowerCase() === 'true' };
  const expiry = /expiry-date\s*=\s*"([^"]+)"/i.exec(value);
  if (expiry) {
    const ms = Date.parse(expiry[1]);
    if (!Number.isNaN(ms)) status.expiry = new Date(ms);
  }
  return status;
}

/** Formats a restore header as the clouds send it (used by the test servers). */
export function formatRestoreHeader(status: TierRestoreStatus): string {
  if (status.ongoing) return 'ongoing-request="true"';
  return `ongoing-request="false"${status.expiry ? `, expiry-date="${status.expiry.toUTCString()}"` : ''}`;
}
