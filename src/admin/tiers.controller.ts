/**
 * The tier part of the admin API (DESIGN.md section 5, docs/tiers.md), root-signed (AdminAuthGuard):
 * - GET /tiergate/admin/v1/tiers: every tier, redacted (below), and tiers whose keys cannot be unsealed here.
 * - PUT /tiergate/admin/v1/tiers: JSON body `{name, type, endpoint, region, bucket, prefix, storageClass,
 *   accessKey, secretKey}`; adds the tier (201) or, when the name exists, edits it (200: credential rotation). The
 *   gateway probes the tier (put, get, list, delete of a probe object) before saving; an unchanged definition is
 *   not probed or written again. The body's SHA-256 must be signed (UNSIGNED-PAYLOAD is refused), 64 KiB at most.
 * - GET /tiergate/admin/v1/tiers/{name}: one tier, with `ETag: "<generation>"`.
 * - DELETE /tiergate/admin/v1/tiers/{name}: 204, refused with 409 TierInUse while any object version references it.
 * PUT and DELETE honour `If-Match: "<generation>"` (412 PreconditionFailed when the tier moved on).
 *
 * Redaction: a tier is shown with `credentials: "static" | "default-chain"` and its `accessKey` (an identifier,
 * not a secret: clouds print it in their audit logs), never its `secretKey`. The Ansible module compares these
 * fields with what it would PUT, so re-runs change nothing.
 *
 * Errors are JSON `{ code, message }`: 400 InvalidArgument (validation, the validator's message), 400
 * MalformedJSON, 400 TierProbeFailed (`step`: put/get/list/delete, `cause`: the tier error code) or 502
 * TierProbeFailed when the tier did not answer (retryable), 404 NoSuchTier, 409 TierInUse / TierRegistryConflict,
 * 412 PreconditionFailed, 503 KmsUnavailable / TierUnavailable / TierRegistryBusy. No message carries a secret key.
 */
import {
  BadRequestException,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  HttpException,
  Inject,
  Param,
  Put,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KmsError } from '../kms/kms-provider';
import { LockTimeoutError } from '../redis/redis-lock';
import type { ObjectLayer } from '../storage/object-layer';
import { OBJECT_LAYER } from '../storage/storage.module';
import {
  S3_STORAGE_CLASSES,
  OSS_STORAGE_CLASSES,
  type TierDefinition,
  type TierType,
} from '../tiers/tier-definition';
import { TierError } from '../tiers/tier-error';
import { TierProbeError } from '../tiers/tier-probe';
import { TierRegistry, TierRegistryError, type TierEntry } from '../tiers/tier-registry';
import { tierReferences } from '../tiers/tier-references';
import { AdminAuthGuard } from './admin-auth.guard';
import { AdminBody, parseJsonObject, readSignedBody } from './admin-body';

/** A tier as the admin API shows it: no secret key. */
export interface TierView {
  name: string;
  type: TierType;
  endpoint?: string;
  region: string;
  bucket: string;
  prefix: string;
  storageClass: string;
  credentials: 'static' | 'default-chain';
  accessKey?: string;
  generation: number;
  state: 'active' | 'removing';
  updated: string;
}

/** Body of GET /tiers. */
export interface TierList {
  tiers: TierView[];
  /** Tiers stored but not usable on this node (their keys did not unseal), with the reason. */
  unavailable: { name: string; reason: string }[];
}

const FIELDS = new Set([
  'name',
  'type',
  'endpoint',
  'region',
  'bucket',
  'prefix',
  'storageClass',
  'accessKey',
  'secretKey',
]);

/** The redacted view of a tier. */
export function tierView(entry: TierEntry): TierView {
  const d = entry.definition;
  return {
    name: d.name,
    type: d.type,
    ...(d.endpoint ? { endpoint: d.endpoint } : {}),
    region: d.region,
    bucket: d.bucket,
    prefix: d.prefix,
    storageClass: d.storageClass,
    credentials: d.accessKey ? 'static' : 'default-chain',
    ...(d.accessKey ? { accessKey: d.accessKey } : {}),
    generation: entry.generation,
    state: entry.state,
    updated: entry.updated,
  };
}

function invalid(message: string): BadRequestException {
  return new BadRequestException({ code: 'InvalidArgument', message });
}

/**
 * The definition a PUT body describes: only the known fields, all strings; `prefix` defaults to "" and
 * `storageClass` to the cloud's standard class; empty endpoint and keys mean none.
 */
export function parseTierBody(body: Record<string, unknown>): TierDefinition {
  for (const [field, value] of Object.entries(body)) {
    if (!FIELDS.has(field)) throw invalid(`unknown field "${field}"`);
    if (typeof value !== 'string') throw invalid(`field "${field}" must be a string`);
  }
  const s = body as Record<string, string | undefined>;
  if (!s.name) throw invalid('field "name" is required');
  if (!s.type) throw invalid('field "type" is required ("s3" or "oss")');
  const standard = s.type === 'oss' ? OSS_STORAGE_CLASSES[0] : S3_STORAGE_CLASSES[0];
  return {
    name: s.name,
    type: s.type as TierType,
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    region: s.region ?? '',
    bucket: s.bucket ?? '',
    prefix: s.prefix ?? '',
    storageClass: s.storageClass || standard,
    ...(s.accessKey ? { accessKey: s.accessKey } : {}),
    ...(s.secretKey ? { secretKey: s.secretKey } : {}),
  };
}

/** `If-Match: "7"` as a generation; 400 for anything else. */
function ifGeneration(req: IncomingMessage): number | undefined {
  const raw = req.headers['if-match'];
  if (raw === undefined) return undefined;
  const m = /^\s*"?(\d{1,15})"?\s*$/.exec(raw);
  if (!m) throw invalid('If-Match must be a tier generation, as GET returns it in ETag');
  return Number(m[1]);
}

/** Maps registry, probe, validation and KMS failures to admin answers; `secret` is removed from any message. */
function tierError(err: unknown, secret?: string): unknown {
  const clean = (message: string): string => (secret ? message.split(secret).join('[redacted]') : message);
  const answer = (status: number, code: string, message: string, extra: object = {}): HttpException =>
    new HttpException({ code, message: clean(message), ...extra }, status);
  if (err instanceof TierRegistryError) {
    const status =
      { NoSuchTier: 404, PreconditionFailed: 412, InvalidArgument: 400 }[err.code as string] ?? 409;
    return answer(status, err.code, err.message);
  }
  if (err instanceof TierProbeError) {
    return answer(err.retryable ? 502 : 400, 'TierProbeFailed', err.message, {
      step: err.step,
      cause: err.causeError.code,
    });
  }
  if (err instanceof TierError) return answer(400, 'InvalidArgument', err.message);
  if (err instanceof KmsError)
    return err.retryable
      ? answer(503, 'KmsUnavailable', `the KMS is unavailable: ${err.message}`)
      : answer(500, 'KmsError', `the KMS refused: ${err.message}`);
  if (err instanceof LockTimeoutError)
    return answer(503, 'TierRegistryBusy', 'another tier change is in progress; retry later');
  return err;
}

/** Serves /tiergate/admin/v1/tiers. */
@Controller('tiergate/admin/v1/tiers')
@UseGuards(AdminAuthGuard)
export class TiersController {
  constructor(
    @Inject(TierRegistry) private readonly registry: TierRegistry,
    @Inject(OBJECT_LAYER) private readonly layer: ObjectLayer,
  ) {}

  /** Every tier, redacted. */
  @Get()
  @Header('Cache-Control', 'no-store')
  list(): TierList {
    return {
      tiers: this.registry.list().map(tierView),
      unavailable: [...this.registry.unavailable()].map(([name, reason]) => ({ name, reason })),
    };
  }

  /** Adds or edits a tier, after probing it. */
  @Put()
  @AdminBody()
  @Header('Cache-Control', 'no-store')
  async put(@Req() req: IncomingMessage, @Res({ passthrough: true }) res: ServerResponse): Promise<TierView> {
    const def = parseTierBody(parseJsonObject(await readSignedBody(req)));
    try {
      const { entry, created } = await this.registry.put(def, { ifGeneration: ifGeneration(req) });
      res.statusCode = created ? 201 : 200;
      res.setHeader('ETag', `"${entry.generation}"`);
      return tierView(entry);
    } catch (err) {
      throw tierError(err, def.secretKey);
    }
  }

  /** One tier, redacted. */
  @Get(':name')
  @Header('Cache-Control', 'no-store')
  get(@Param('name') name: string, @Res({ passthrough: true }) res: ServerResponse): TierView {
    const entry = this.registry.get(name);
    if (entry === undefined) {
      const reason = this.registry.unavailable().get(name);
      if (reason !== undefined)
        throw new HttpException({ code: 'TierUnavailable', message: `tier ${name}: ${reason}` }, 503);
      throw new HttpException({ code: 'NoSuchTier', message: `no tier is named ${name}` }, 404);
    }
    res.setHeader('ETag', `"${entry.generation}"`);
    return tierView(entry);
  }

  /** Removes a tier no object version references (walks the namespace to make sure). */
  @Delete(':name')
  @HttpCode(204)
  async remove(@Param('name') name: string, @Req() req: IncomingMessage): Promise<void> {
    try {
      await this.registry.remove(name, () => tierReferences(this.layer, name), {
        ifGeneration: ifGeneration(req),
      });
    } catch (err) {
      throw tierError(err);
    }
  }
}
