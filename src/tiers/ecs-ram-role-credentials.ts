/**
 * Credentials of the ECS instance's RAM role, from the Alibaba Cloud metadata service: what "no static keys" means
 * for an OSS tier. ali-oss has no default credential chain of its own (it requires keys at construction), so the
 * OSS tier asks this provider and hands ali-oss the STS triple plus a refresh hook.
 *
 * Protocol (as `@alicloud/credentials` speaks it): optionally `PUT /latest/api/token` with
 * `X-aliyun-ecs-metadata-token-ttl-seconds` for a session token (hardened mode, sent back as
 * `X-aliyun-ecs-metadata-token`; an instance in normal mode may refuse it and is then asked without one); `GET
 * /latest/meta-data/ram/security-credentials/` names the role; `GET .../<role>` answers JSON with `Code: "Success"`,
 * `AccessKeyId`, `AccessKeySecret`, `SecurityToken` and `Expiration`.
 *
 * Invariant: credentials are reused until `refreshBeforeMs` before they expire, then fetched again; concurrent
 * callers share one fetch. The endpoint is configurable so tests use a loopback fake.
 */
import { request } from 'node:http';
import { TierError } from './tier-error';

/** An STS credential triple with its expiry. */
export interface StsCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  stsToken: string;
  expiration: Date;
}

/** Where and how to ask. */
export interface EcsRamRoleOptions {
  /** Metadata service base URL. Default `http://100.100.100.200`. */
  endpoint?: string;
  /** Role name; discovered from the metadata service when absent. */
  roleName?: string;
  /** Refetch this long before expiry. Default 15 minutes. */
  refreshBeforeMs?: number;
  /** Per-request timeout. Default 2000 ms. */
  timeoutMs?: number;
}

/** Fetches and caches the instance role's credentials. */
export class EcsRamRoleCredentials {
  private readonly endpoint: string;
  private readonly refreshBeforeMs: number;
  private readonly timeoutMs: number;
  private roleName: string | undefined;
  private cached: StsCredentials | undefined;
  private pending: Promise<StsCredentials> | undefined;

  constructor(opts: EcsRamRoleOptions = {}) {
    this.endpoint = (opts.endpoint ?? 'http://100.100.100.200').replace(/\/+$/, '');
    this.roleName = opts.roleName;
    this.refreshBeforeMs = opts.refreshBeforeMs ?? 15 * 60_000;
    this.timeoutMs = opts.timeoutMs ?? 2000;
  }

  /** Current credentials, fetched when absent or about to expire. */
  async get(): Promise<StsCredentials> {
    if (this.cached && this.cached.expiration.getTime() - Date.now() > this.refreshBeforeMs)
      return this.cached;
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetch(): Promise<StsCredentials> {
    const token = await this.call('PUT', '/latest/api/token', {
      'X-aliyun-ecs-metadata-token-ttl-seconds': '21600',
    }).then(
      (r) => (r.status === 200 ? r.body : undefined),
      () => undefined,
    );
    const headers: Record<string, string> = token ? { 'X-aliyun-ecs-metadata-token': token } : {};
    const base = '/latest/meta-data/ram/security-credentials/';
    if (this.roleName === undefined) {
      const r = await this.call('GET', base, headers);
      const role = r.status === 200 ? r.body.trim().split('\n')[0]?.trim() : '';
      if (!role) throw this.fail(`no RAM role is attached to this instance (metadata answered ${r.status})`);
      this.roleName = role;
    }
    const r = await this.call('GET', base + encodeURIComponent(this.roleName), headers);
    if (r.status !== 200)
      throw this.fail(`credentials of role ${this.roleName}: metadata answered ${r.status}`);
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(r.body) as Record<string, unknown>;
    } catch {
      throw this.fail(`credentials of role ${this.roleName} are not JSON`);
    }
    const { Code, AccessKeyId, AccessKeySecret, SecurityToken, Expiration } = doc;
    const expiration = new Date(typeof Expiration === 'string' ? Expiration : NaN);
    if (
      Code !== 'Success' ||
      typeof AccessKeyId !== 'string' ||
      typeof AccessKeySecret !== 'string' ||
      typeof SecurityToken !== 'string' ||
      Number.isNaN(expiration.getTime())
    )
      throw this.fail(`credentials of role ${this.roleName}: unexpected answer (Code ${String(Code)})`);
    this.cached = {
      accessKeyId: AccessKeyId,
      accessKeySecret: AccessKeySecret,
      stsToken: SecurityToken,
      expiration,
    };
    return this.cached;
  }

  private fail(why: string): TierError {
    return new TierError('AccessDenied', `ECS RAM role credentials from ${this.endpoint}: ${why}`);
  }

  private call(
    method: string,
    path: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(this.endpoint + path, { method, headers, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.timeoutMs} ms`)));
      req.on('error', (err) =>
        reject(
          new TierError('Unavailable', `ECS metadata service ${this.endpoint}: ${err.message}`, {
            cause: err,
          }),
        ),
      );
      req.end();
    });
  }
}
