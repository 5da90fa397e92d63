import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';

/** The operator-facing HTTP surface: health now; admin API, readiness and metrics as they land. */
@Module({ controllers: [HealthController] })
export class AdminModule {}
