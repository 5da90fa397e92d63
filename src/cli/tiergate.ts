#!/usr/bin/env node
/**
 * The `tiergate` executable (package.json "bin"). `tiergate server` runs the same bootstrap as `npm start`;
 * the admin client commands join it with the admin API.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCliArgs, USAGE } from './cli-args';

function packageVersion(): string {
  // Compiled to dist/src/cli/, three levels below the package root.
  const pkg = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as {
    version?: unknown;
  };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

async function run(args: readonly string[]): Promise<void> {
  const command = parseCliArgs(args);
  switch (command.kind) {
    case 'help':
      process.stdout.write(command.text);
      return;
    case 'version':
      process.stdout.write(`tiergate ${packageVersion()}\n`);
      return;
    case 'server': {
      // Loaded only here, so --help does not pay for booting NestJS.
      const { startServer } = await import('../main');
      await startServer();
      return;
    }
    case 'error':
      process.stderr.write(`tiergate: ${command.message}\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

void run(process.argv.slice(2));
