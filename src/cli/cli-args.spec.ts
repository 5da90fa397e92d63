import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENV_SCHEMA } from '../config/env.schema';
import { type CliCommand, parseCliArgs, serverHelp, USAGE } from './cli-args';

describe('parseCliArgs', () => {
  const table: [string[], CliCommand['kind'], RegExp?][] = [
    [['server'], 'server'],
    [['--help'], 'help', /^Usage: tiergate <command>/],
    [['-h'], 'help', /^Usage: tiergate <command>/],
    [['help'], 'help', /^Usage: tiergate <command>/],
    [['server', '--help'], 'help', /^Usage: tiergate server/],
    [['help', 'server'], 'help', /^Usage: tiergate server/],
    [['--version'], 'version'],
    [['-v'], 'version'],
    [[], 'error', /missing command/],
    [['serve'], 'error', /unknown command "serve"/],
    [['server', '--port', '9000'], 'error', /unexpected argument "--port"/],
    [['help', 'nope'], 'error', /no help for "nope"/],
    [['--version', 'x'], 'error', /unknown command "--version"/],
  ];
  for (const [args, kind, text] of table) {
    it(`${JSON.stringify(args)} -> ${kind}`, () => {
      const command = parseCliArgs(args);
      assert.equal(command.kind, kind);
      if (text && command.kind === 'help') assert.match(command.text, text);
      if (text && command.kind === 'error') assert.match(command.message, text);
    });
  }
});

describe('help text', () => {
  it('lists the server command', () => assert.match(USAGE, /^ {2}server /m));

  it('documents every TIERGATE_* variable with its default', () => {
    const help = serverHelp();
    for (const name of Object.keys(ENV_SCHEMA)) assert.match(help, new RegExp(`^ {2}${name}$`, 'm'));
    assert.match(help, /default: 127\.0\.0\.1:9000/);
    assert.match(help, /default: \.\/data\/drive\{1\.\.\.4\}/);
  });
});
