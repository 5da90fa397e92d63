/**
 * The lifecycle part of the admin API (DESIGN.md section 5), root-signed (AdminAuthGuard):
 * - POST /tiergate/admin/v1/lifecycle/scan[?bucket=]: runs a scan now, in this request, and answers what it
 *   evaluated and scheduled (the periodic scan is the same walk, queued once per interval).
 * - GET /tiergate/admin/v1/lifecycle/explain?bucket=&key=: for each version of the key (newest first) and each
 *   incomplete multipart upload of it, the matching rule's next action, when it is due, and its job's state,
 *   attempts and last error.
 * Errors answer JSON `{ code, message }`: 400 InvalidArgument for a missing parameter, 404 NoSuchBucket.
 */
import {
  BadRequestException,
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  NotFoundException,
  Post,
  Query,
  UseGuards,
} from '@nestjs/common';
import { LifecycleEngine, type Explanation } from '../lifecycle/engine/lifecycle-engine';
import type { ScanReport } from '../lifecycle/engine/scanner';
import { isStorageError } from '../storage/errors';
import { AdminAuthGuard } from './admin-auth.guard';

function param(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new BadRequestException({
      code: 'InvalidArgument',
      message: `query parameter ${name} is required`,
    });
  }
  return value;
}

/** Maps the storage layer's "no such bucket" and bad-name errors to admin API answers. */
function adminError(err: unknown): unknown {
  if (isStorageError(err, 'BucketNotFound'))
    return new NotFoundException({ code: 'NoSuchBucket', message: 'the specified bucket does not exist' });
  if (isStorageError(err, 'InvalidBucketName') || isStorageError(err, 'InvalidArgument'))
    return new BadRequestException({ code: 'InvalidArgument', message: (err as Error).message });
  return err;
}

/** Serves /tiergate/admin/v1/lifecycle/*. */
@Controller('tiergate/admin/v1/lifecycle')
@UseGuards(AdminAuthGuard)
export class LifecycleController {
  constructor(@Inject(LifecycleEngine) private readonly engine: LifecycleEngine) {}

  /** Runs a scan of every bucket (or one) and waits for it. */
  @Post('scan')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async scan(@Query('bucket') bucket?: unknown): Promise<ScanReport> {
    const only = bucket === undefined ? undefined : param(bucket, 'bucket');
    try {
      if (only !== undefined) await this.engine.requireBucket(only);
      return await this.engine.scanner.scan(only);
    } catch (err) {
      throw adminError(err);
    }
  }

  /** Explains the lifecycle of one key. */
  @Get('explain')
  @Header('Cache-Control', 'no-store')
  async explain(@Query('bucket') bucket?: unknown, @Query('key') key?: unknown): Promise<Explanation> {
    const b = param(bucket, 'bucket');
    const k = param(key, 'key');
    try {
      await this.engine.requireBucket(b);
      return await this.engine.explain(b, k);
    } catch (err) {
      throw adminError(err);
    }
  }
}
