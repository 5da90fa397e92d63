/**
 * Authenticates the admin API (DESIGN.md section 5): every /tiergate/admin/v1/ request is SigV4-signed (service
 * `s3`, the gateway's region) with the root credentials, checked by the same verifier as S3 requests. Routes
 * marked @AdminBody() take a body whose SHA-256 the signature must cover (UNSIGNED-PAYLOAD is refused); the route
 * reads it with readSignedBody, which compares the bytes with that hash. Every other route takes no body. Failures
 * answer 403 (or 400 for a malformed signature or payload mode) with a JSON `{ code, message }`, never the reason
 * a secret did not match.
 */
import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  HttpException,
  Inject,
  Injectable,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { TiergateConfig } from '../config/tiergate-config';
import { verifyAdminRequest } from './admin-auth';
import { ADMIN_BODY, rememberSignedPayload } from './admin-body';

/** Lets a request through only when it is signed with the root credentials. */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    @Inject(TiergateConfig) private readonly config: TiergateConfig,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<IncomingMessage>();
    const takesBody = this.reflector.get<boolean | undefined>(ADMIN_BODY, context.getHandler()) === true;
    const result = verifyAdminRequest(req, this.config, new Date(), takesBody ? 'signed' : 'none');
    if (!('status' in result)) {
      if (result.payloadSha256 !== undefined) rememberSignedPayload(req, result.payloadSha256);
      return true;
    }
    throw result.status === 403
      ? new ForbiddenException({ code: result.code, message: result.message })
      : new HttpException({ code: result.code, message: result.message }, result.status);
  }
}
