/**
 * Access control as tiergate has it: one root account owns every bucket and object and has full control; there
 * are no grants to anyone else. GetBucketAcl / GetObjectAcl report exactly that, in AWS's AccessControlPolicy form,
 * for clients (s3cmd, Cyberduck, conformance suites) that read ACLs.
 */
import type { S3Context } from '../s3-context';
import { escapeXml, S3_NS } from '../xml/xml';
import { ownerOf } from './bucket.helpers';

/** Sends the owner-only AccessControlPolicy (written by hand: Grantee needs its xsi:type attribute, which s3cmd reads). */
export function sendOwnerAcl(ctx: S3Context): void {
  const owner = ownerOf(ctx);
  const id = `<ID>${escapeXml(owner.ID)}</ID><DisplayName>${escapeXml(owner.DisplayName)}</DisplayName>`;
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<AccessControlPolicy xmlns="${S3_NS}"><Owner>${id}</Owner><AccessControlList><Grant>` +
    '<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">' +
    `${id}</Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>`;
  ctx.res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  ctx.res.end(body);
}
