/**
 * What the HTTP framework costs on the S3 path. The gateway serves S3 through one raw (req, res) handler that the
 * server calls before any framework code (src/main.ts mountS3), so the choice of adapter only matters by what runs
 * before that handler. This runs the same S3Gateway on the same drives behind (a) the app exactly as `npm start`
 * builds it, and (b) a bare node:http server, and prints 4 KiB GET ops/s and 64 MiB GET MB/s for both, interleaved
 * three times. (a) within noise of (b) means no adapter could buy anything on the data path. (Measured before
 * mountS3 bypassed express: 0.93x on 4 KiB GETs.)
 *
 * Run: `npm run bench:adapter`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { loadConfig } from '../src/config/load-config';
import { bootstrap } from '../src/main';
import { S3Gateway } from '../src/s3/s3-gateway';
import { BenchS3Client } from './lib/s3-client';
import { environmentLines, median } from './lib/measure';

const USER = 'benchadapter';
const SECRET = 'benchadaptersecret';
const SMALL = 4096;
const LARGE = 64 << 20;

async function timeRun(n: number, concurrency: number, op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await op(next++);
    }),
  );
  return (performance.now() - started) / 1000;
}

async function measure(port: number): Promise<{ smallOps: number; largeMBs: number }> {
  const client = new BenchS3Client({
    host: '127.0.0.1',
    port,
    accessKey: USER,
    secretKey: SECRET,
    region: 'us-east-1',
    maxSockets: 16,
  });
  try {
    const small = 3000;
    const s = await timeRun(small, 16, async (i) => {
      await client.getObject('bench', `small/${i % 200}`, () => undefined);
    });
    const large = 12;
    const l = await timeRun(large, 4, async () => {
      await client.getObject('bench', 'large', () => undefined);
    });
    return { smallOps: small / s, largeMBs: (large * LARGE) / l / 1e6 };
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  console.log(
    'tiergate HTTP adapter benchmark: the same S3Gateway behind Nest+express and behind bare node:http',
  );
  const root = mkdtempSync(path.join(os.tmpdir(), 'tiergate-adapter-bench-'));
  for (const line of environmentLines(root)) console.log(line);
  Logger.overrideLogger(['error']);
  let app: NestExpressApplication | undefined;
  let bare: Server | undefined;
  try {
    const env = {
      TIERGATE_ADDRESS: '127.0.0.1:0',
      TIERGATE_DRIVES: path.join(root, 'd{1...6}'),
      TIERGATE_ROOT_USER: USER,
      TIERGATE_ROOT_PASSWORD: SECRET,
    };
    app = await bootstrap(loadConfig(env, root));
    const nestPort = (app.getHttpServer().address() as AddressInfo).port;
    const gateway = app.get(S3Gateway);
    bare = createServer((req, res) => void gateway.handle(req, res));
    bare.requestTimeout = 0;
    await new Promise<void>((resolve) => bare!.listen(0, '127.0.0.1', resolve));
    const barePort = (bare.address() as AddressInfo).port;

    const setup = new BenchS3Client({
      host: '127.0.0.1',
      port: nestPort,
      accessKey: USER,
      secretKey: SECRET,
      region: 'us-east-1',
      maxSockets: 16,
    });
    await setup.createBucket('bench');
    const small = Buffer.alloc(SMALL, 7);
    for (let i = 0; i < 200; i++) await setup.putObject('bench', `small/${i}`, small, SMALL);
    await setup.putObject('bench', 'large', Buffer.alloc(LARGE, 9), LARGE);
    setup.close();

    const nest: { smallOps: number; largeMBs: number }[] = [];
    const raw: { smallOps: number; largeMBs: number }[] = [];
    for (let round = 0; round < 3; round++) {
      // Alternate which goes first so warm-up and drift do not favour one side.
      if (round % 2 === 0) {
        nest.push(await measure(nestPort));
        raw.push(await measure(barePort));
      } else {
        raw.push(await measure(barePort));
        nest.push(await measure(nestPort));
      }
    }
    const row = (name: string, rs: { smallOps: number; largeMBs: number }[]): string =>
      `   ${name.padEnd(28)} ${median(rs.map((r) => r.smallOps))
        .toFixed(0)
        .padStart(9)}` +
      `${median(rs.map((r) => r.largeMBs))
        .toFixed(0)
        .padStart(14)}`;
    console.log('\n   median of 3 interleaved rounds, concurrency 16 (4 KiB) and 4 (64 MiB), GET only');
    console.log(`   ${'server'.padEnd(28)} ${'4 KiB ops/s'.padStart(9)} ${'64 MiB MB/s'.padStart(13)}`);
    console.log(row('the app (npm start)', nest));
    console.log(row('bare node:http', raw));
    const ratio = median(nest.map((r) => r.smallOps)) / median(raw.map((r) => r.smallOps));
    console.log(`   app / bare, 4 KiB GET: ${ratio.toFixed(2)}x`);
  } finally {
    await new Promise<void>((resolve) => (bare ? bare.close(() => resolve()) : resolve()));
    await app?.close();
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
