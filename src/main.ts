/**
 * Process entry (`npm start`, `tiergate server`): loads the config from the environment, boots the NestJS app on
 * the express adapter (Redis first: TIERGATE_REDIS_URL, or a redis-server child it starts), listens on
 * TIERGATE_ADDRESS, and shuts down gracefully on SIGINT/SIGTERM.
 */
import 'reflect-metadata';
import { ConsoleLogger, Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module';
import { ConfigError } from './config/config-error';
import { formatListenAddress } from './config/listen-address';
import { loadConfig } from './config/load-config';
import type { TiergateConfig } from './config/tiergate-config';
import { S3Gateway } from './s3/s3-gateway';

/** How long a graceful shutdown may take before the process exits anyway (code 1). */
export const SHUTDOWN_GRACE_MS = 10_000;

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM'];
const logger = new Logger('Tiergate');

/** Creates the app for `config` and binds its port; installs no signal handlers, so tests can call it in-process. */
export async function bootstrap(config: TiergateConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config),
    new ExpressAdapter(),
    {
      // S3 bodies stream raw into the storage engine; nothing may buffer or parse them first.
      bodyParser: false,
      // Report a failed boot as an error instead of Nest's default process.abort().
      abortOnError: false,
    },
  );
  app.disable('x-powered-by');
  mountS3(app);
  const { host, port } = config.address;
  try {
    await (host === undefined ? app.listen(port) : app.listen(port, host));
  } catch (err) {
    await app.close();
    throw err;
  }
  const bound = app.getHttpServer().address() as AddressInfo;
  logger.log(`listening on http://${formatListenAddress({ host: bound.address, port: bound.port })}`);
  logger.log(`drives (${config.storage.drives.length}): ${config.storage.drives.join(', ')}`);
  return app;
}

/**
 * Puts the S3 gateway in front of the framework: the HTTP server's requests go straight to the gateway, and only
 * /tiergate/* (health, admin, metrics) reaches Nest and express. Measured (`npm run bench:adapter`): routing S3
 * through express cost 7% of 4 KiB GET throughput against bare node:http; dispatching here costs nothing, which is
 * also the most any other adapter could have saved. Uploads may take longer than Node's default 5-minute request
 * timeout, so that limit is lifted; a socket silent for IDLE_TIMEOUT_MS is closed instead (Node sets no idle limit),
 * so a stalled upload cannot hold its connection and its staged write forever.
 */
function mountS3(app: NestExpressApplication): void {
  const gateway = app.get(S3Gateway);
  const server: Server = app.getHttpServer();
  const framework = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  const dispatch = (req: IncomingMessage, res: ServerResponse): void => {
    if ((req.url ?? '').startsWith('/tiergate/')) {
      for (const listener of framework) listener.call(server, req, res);
      return;
    }
    void gateway.handle(req, res);
  };
  server.removeAllListeners('request');
  server.on('request', dispatch);
  // Node answers any Expect other than 100-continue with its own 417; S3 ignores unknown expectations.
  server.on('checkExpectation', dispatch);
  server.requestTimeout = 0;
  server.timeout = IDLE_TIMEOUT_MS;
}

/** How long a connection may stay silent in the middle of a request before it is closed. */
export const IDLE_TIMEOUT_MS = 120_000;

/**
 * The first SIGINT/SIGTERM runs Nest's shutdown hooks (the HTTP server drains, the queues close, the storage engine
 * closes its drives, the Redis connection closes and an embedded redis-server is stopped) and exits 0; a second signal, or a shutdown slower than SHUTDOWN_GRACE_MS, exits 1 at once.
 */
function exitGracefullyOnSignals(app: INestApplication): void {
  let received: string | undefined;
  for (const signal of SHUTDOWN_SIGNALS) {
    process.on(signal, () => {
      if (received !== undefined) {
        logger.warn(`${signal} during shutdown: exiting without waiting`);
        process.exit(1);
      }
      received = signal;
      logger.log(`${signal}: draining requests, closing the queues, the drives and Redis`);
      process.once('exit', (code) => logger.log(`stopped (exit code ${code})`));
      setTimeout(() => {
        logger.error(`shutdown took longer than ${SHUTDOWN_GRACE_MS / 1000}s; exiting`);
        process.exit(1);
      }, SHUTDOWN_GRACE_MS).unref();
    });
  }
  app.enableShutdownHooks(SHUTDOWN_SIGNALS, { useProcessExit: true });
}

/** Runs the gateway until a signal stops it; a bad environment or a failed boot exits 1 with the reason. */
export async function startServer(): Promise<void> {
  // Colour codes help a terminal and clutter log files and journald.
  Logger.overrideLogger(new ConsoleLogger({ colors: process.stdout.isTTY === true }));
  let config: TiergateConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
    return;
  }
  for (const warning of config.warnings) logger.warn(warning);
  try {
    exitGracefullyOnSignals(await bootstrap(config));
  } catch (err) {
    // Nest has already logged the error with its stack; repeat only the reason, last, where it is seen.
    logger.error(`failed to start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

if (require.main === module) void startServer();
