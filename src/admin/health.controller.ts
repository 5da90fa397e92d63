/**
 * Health endpoints for load balancers and orchestrators. Liveness only says the process serves HTTP; it checks no
 * dependency, so a slow drive never gets a healthy process restarted.
 */
import { Controller, Get, Header } from '@nestjs/common';

/** Body of a passing health check. */
export interface HealthStatus {
  status: 'ok';
}

/** Serves /tiergate/health/*; readiness (drives, quorum, Redis) comes with the admin API. */
@Controller('tiergate/health')
export class HealthController {
  /** Liveness: 200 as long as the event loop answers. */
  @Get('live')
  @Header('Cache-Control', 'no-store')
  live(): HealthStatus {
    return { status: 'ok' };
  }
}
