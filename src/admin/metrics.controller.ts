/** Prometheus scrape endpoint: GET /tiergate/metrics, text exposition format 0.0.4, unauthenticated like health. */
import { Controller, Get, Header } from '@nestjs/common';
import { MetricsService } from './metrics.service';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus';

/** Serves /tiergate/metrics. */
@Controller('tiergate')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /** The current metrics, with drive and set gauges read from the storage status for this scrape. */
  @Get('metrics')
  @Header('Content-Type', PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
