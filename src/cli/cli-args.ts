/**
 * Argument parsing and help text of the `tiergate` command, kept pure so it is tested without a process.
 * The server is configured by environment only (one schema, see config/env.schema.ts), never by flags.
 */
import { ENV_SCHEMA, type EnvVariable } from '../config/env.schema';

/** What the command line asks for. */
export type CliCommand =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'server' }
  | { kind: 'error'; message: string };

/** Top-level usage, printed by --help and after a usage error. */
export const USAGE = `Usage: tiergate <command>

Commands:
  server         start the gateway (configured by TIERGATE_* variables, see: tiergate server --help)

Options:
  -h, --help     show this help
  -v, --version  print the version
`;

/** Help of `tiergate server`: every TIERGATE_* variable with its meaning and default. */
export function serverHelp(): string {
  const entries = Object.entries(ENV_SCHEMA) as [string, EnvVariable<unknown>][];
  const lines = entries.flatMap(([name, v]) => [
    `  ${name}`,
    `      ${v.description}`,
    `      default: ${v.defaultNote ?? v.default ?? 'unset'}`,
  ]);
  return [
    'Usage: tiergate server',
    '',
    'Starts the gateway in the foreground, as `npm start` does; SIGINT or SIGTERM stops it gracefully.',
    'Configuration comes from the environment only:',
    '',
    ...lines,
    '',
  ].join('\n');
}

const HELP = ['-h', '--help', 'help'];

/** Maps argv (without node and the script) to a command; unknown input is an error, never a guess. */
export function parseCliArgs(args: readonly string[]): CliCommand {
  const [first, ...rest] = args;
  if (first === undefined) return { kind: 'error', message: 'missing command' };
  if (HELP.includes(first)) {
    if (rest.length === 0) return { kind: 'help', text: USAGE };
    if (rest.length === 1 && rest[0] === 'server') return { kind: 'help', text: serverHelp() };
    return { kind: 'error', message: `no help for "${rest.join(' ')}"` };
  }
  if ((first === '-v' || first === '--version') && rest.length === 0) return { kind: 'version' };
  if (first === 'server') {
    if (rest.length === 0) return { kind: 'server' };
    if (rest.length === 1 && HELP.includes(rest[0])) return { kind: 'help', text: serverHelp() };
    return {
      kind: 'error',
      message: `unexpected argument "${rest[0]}": the server is configured by TIERGATE_* variables`,
    };
  }
  return { kind: 'error', message: `unknown command "${first}"` };
}
