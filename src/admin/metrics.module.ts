import { Module } from '@nestjs/common';
import { MetricsService } from './metrics.service';

/**
 * Provides the process's one MetricsService: S3Module feeds it every finished request, AdminModule serves it.
 * Needs the global OBJECT_LAYER (StorageModule).
 */
@Module({ providers: [MetricsService], exports: [MetricsService] })
export class MetricsModule {}
