/**
 * Authenticates the admin API (DESIGN.md section 5): every /tiergate/admin/v1/ request is SigV4-signed (service
 * `s3`, the gateway's region) with the root credentials, checked by the same verifier as S3 requests. Only
 * body-less requests are accepted so far, so the signed payload hash must be that of an empty body (or
 * UNSIGNED-PAYLOAD); routes that take a body will verify it as they read it. Failures answer 403 (or 400 for a
 * malformed signature) with a JSON `{ code, message }`, never the reason a secret did not match.
 */
import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  HttpException,
  Inject,
  Injectable,
} from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { TiergateConfig } from '../config/tiergate-config';
import { verifyAdminRequest } from './admin-auth';

/** Lets a request through only when it is signed with the root credentials. */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(@Inject(TiergateConfig) private readonly config: TiergateConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<IncomingMessage>();
    const failure = verifyAdminRequest(req, this.config, new Date());
    if (failure === undefined) return true;
    throw failure.status === 403
      ? new ForbiddenException({ code: failure.code, message: failure.message })
      : new HttpException({ code: failure.code, message: failure.message }, failure.status);
  }
}
