/**
 * Health endpoints for load balancers and orchestrators. Liveness only says the process serves HTTP; it checks no
 * dependency, so a slow drive never gets a healthy process restarted. Readiness says whether S3 requests can
 * succeed: every erasure set has read and write quorum (see readiness.ts); 503 takes the node out of rotation.
 */
import { Controller, Get, Header, HttpStatus, Inject, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { ObjectLayer } from '../storage/object-layer';
import { OBJECT_LAYER } from '../storage/storage.module';
import { readiness, type Readiness } from './readiness';

/** Body of a passing liveness check. */
export interface HealthStatus {
  status: 'ok';
}

/** Serves /tiergate/health/*. */
@Controller('tiergate/health')
export class HealthController {
  constructor(@Inject(OBJECT_LAYER) private readonly layer: ObjectLayer) {}

  /** Liveness: 200 as long as the event loop answers. */
  @Get('live')
  @Header('Cache-Control', 'no-store')
  live(): HealthStatus {
    return { status: 'ok' };
  }

  /** Readiness: 200 when every erasure set has read and write quorum, else 503; the body has each set's state. */
  @Get('ready')
  @Header('Cache-Control', 'no-store')
  async ready(@Res({ passthrough: true }) res: ServerResponse): Promise<Readiness> {
    const body = readiness(await this.layer.status().catch(() => undefined));
    res.statusCode = body.status === 'ready' ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE;
    return body;
  }
}
