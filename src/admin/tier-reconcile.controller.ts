/**
 * The tier reconciler in the admin API (DESIGN.md section 5, docs/tiers.md), root-signed (AdminAuthGuard):
 * - POST /tiergate/admin/v1/tiers/{name}/reconcile[?dryRun=true]: lists the tier's prefix and its open multipart
 *   uploads, walks the namespace for references, removes the unreferenced remote objects and aborts the
 *   unreferenced uploads older than the grace period (TIERGATE_TIER_ORPHAN_GRACE_SECONDS), in this request; answers
 *   the ReconcileReport (listed, referenced, young, orphans, removed and the first orphans one by one; uploadsListed,
 *   uploadsReferenced, uploadsYoung, uploadsStale, uploadsAborted and the first stale uploads; uploadsNotListed when
 *   the tier cannot list uploads; intentsStale and intentsDropped; restores and restoreJobs, the restores whose
 *   jobs it asked for again). A dry run removes, aborts, drops and queues nothing and reports the same.
 * The same pass runs by itself every reconcile interval as a queued job, once per tier per slot across gateways.
 * Errors answer JSON `{ code, message }`: 400 InvalidArgument (a dryRun that is not true/false), 404 NoSuchTier,
 * 503 TierUnavailable (the tier did not answer; the report is not partial: nothing after the failure was done).
 */
import {
  BadRequestException,
  Controller,
  Header,
  HttpCode,
  HttpException,
  Inject,
  Param,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { LifecycleEngine } from '../lifecycle/engine/lifecycle-engine';
import { NoSuchTierError, type ReconcileReport } from '../lifecycle/engine/tier-reconciler';
import { TierError } from '../tiers/tier-error';
import { AdminAuthGuard } from './admin-auth.guard';

/** `?dryRun=` as a boolean (absent: false). */
export function parseDryRun(value: unknown): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true' || value === '') return true;
  throw new BadRequestException({ code: 'InvalidArgument', message: 'dryRun must be true or false' });
}

/** Serves /tiergate/admin/v1/tiers/{name}/reconcile. */
@Controller('tiergate/admin/v1/tiers')
@UseGuards(AdminAuthGuard)
export class TierReconcileController {
  constructor(@Inject(LifecycleEngine) private readonly engine: LifecycleEngine) {}

  /** Reconciles one tier now and reports what it found (and removed, unless a dry run). */
  @Post(':name/reconcile')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async reconcile(@Param('name') name: string, @Query('dryRun') dryRun?: unknown): Promise<ReconcileReport> {
    const dry = parseDryRun(dryRun);
    const reconciler = this.engine.reconciler;
    if (!reconciler)
      throw new HttpException({ code: 'NoSuchTier', message: 'this gateway has no tiers configured' }, 404);
    try {
      return await reconciler.reconcile(name, { dryRun: dry });
    } catch (err) {
      if (err instanceof NoSuchTierError)
        throw new HttpException({ code: 'NoSuchTier', message: err.message }, 404);
      if (err instanceof TierError)
        throw new HttpException(
          { code: 'TierUnavailable', message: `tier ${name} failed: ${err.message}` },
          err.retryable ? 503 : 502,
        );
      throw err;
    }
  }
}
