#!/usr/bin/env node
// Runs the compiled test suites with Node's built-in runner (node --test). `npm test` builds first (pretest).
//
// Selection: every dist/**/*.spec.js whose TypeScript source (src/**/*.spec.ts beside the code, or
// test/**/*.spec.ts for integration and e2e) still exists; specs left in dist/ by a deleted source are skipped.
// Arguments: words are substrings of the spec path (any match selects the file), e.g.
//   npm test -- config          -> dist/src/config/*.spec.js
//   npm test -- test/e2e        -> the end-to-end suites
// and options are passed to node --test, e.g. --test-name-pattern=expandEllipses, --test-only.
// The exit code is the runner's.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
// node --test options that take their value as the next argument (--opt value rather than --opt=value).
const OPTIONS_WITH_VALUE = new Set([
  '--test-name-pattern',
  '--test-reporter',
  '--test-reporter-destination',
  '--test-concurrency',
  '--test-shard',
  '--test-timeout',
]);
// The timeout catches a hung file, not a slow one: the heaviest files (10,000 versions of one key through the SDK,
// the SIGKILL suites) take one to two minutes on a loaded 2-core machine while another file runs beside them.
const DEFAULTS = { '--test-concurrency': '2', '--test-reporter': 'spec', '--test-timeout': '300000' };

function findSpecs(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : findSpecs(path);
    return entry.isFile() && entry.name.endsWith('.spec.js') ? [path] : [];
  });
}

function splitArgs(args) {
  const options = [];
  const filters = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('-')) filters.push(arg);
    else if (OPTIONS_WITH_VALUE.has(arg) && i + 1 < args.length) options.push(`${arg}=${args[++i]}`);
    else options.push(arg);
  }
  return { options, filters };
}

const { options, filters } = splitArgs(process.argv.slice(2));
const all = findSpecs(dist)
  .map((file) => relative(dist, file).split(sep).join('/'))
  .sort();
const stale = all.filter((rel) => !existsSync(join(root, rel.replace(/\.js$/, '.ts'))));
const live = all.filter((rel) => !stale.includes(rel));
const selected = live.filter((rel) => filters.length === 0 || filters.some((f) => rel.includes(f)));

if (stale.length > 0)
  console.warn(`run-tests: skipping ${stale.length} spec(s) without a source: ${stale.join(', ')}`);
if (selected.length === 0) {
  const why =
    live.length === 0
      ? 'no compiled specs under dist/ (run npm run build)'
      : `none match ${filters.join(' ')}`;
  console.error(`run-tests: ${why}`);
  process.exit(1);
}

const defaults = Object.entries(DEFAULTS)
  .filter(([name]) => !options.some((o) => o === name || o.startsWith(`${name}=`)))
  .map(([name, value]) => `${name}=${value}`);
const args = [
  '--enable-source-maps',
  '--test',
  ...defaults,
  ...options,
  ...selected.map((rel) => join(dist, rel)),
];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
