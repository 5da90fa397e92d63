/**
 * The Terraform CLI on the AWS code, offline: `terraform fmt -check` over terraform/, then `init -backend=false`,
 * `validate` and `terraform test` (mock_provider "aws", see each tests/*.tftest.hcl) on the aws-tier and aws-gateway
 * modules and the aws example, with the project's CLI config terraform/terraform.tfrc, which installs providers only
 * from a local filesystem mirror. Without terraform on PATH or without the AWS provider in that mirror the suite is
 * skipped and says why (hcl-references.spec.ts still checks every file). The Alibaba code cannot be run here: no
 * alicloud provider is available offline.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');
const TERRAFORM_DIR = join(ROOT, 'terraform');
/** The project's CLI config; TIERGATE_TF_CLI_CONFIG names another for a machine whose mirror lives elsewhere. */
const CLI_CONFIG = process.env.TIERGATE_TF_CLI_CONFIG || join(TERRAFORM_DIR, 'terraform.tfrc');
/** The directories run through init, validate and test, in dependency order. */
const AWS_DIRS = ['modules/aws-tier', 'modules/aws-gateway', 'examples/aws'];

/** Why the CLI checks cannot run here, or undefined when they can. */
function skipReason(): string | undefined {
  const version = spawnSync('terraform', ['version'], {
    encoding: 'utf8',
    env: { ...process.env, CHECKPOINT_DISABLE: '1' },
  });
  if (version.error) return `skipped: terraform is not on PATH (${version.error.message})`;
  if (!existsSync(CLI_CONFIG)) return `skipped: no Terraform CLI config at ${CLI_CONFIG}`;
  const mirror = /filesystem_mirror\s*{[^}]*path\s*=\s*"([^"]+)"/.exec(readFileSync(CLI_CONFIG, 'utf8'))?.[1];
  if (mirror === undefined) return `skipped: ${CLI_CONFIG} names no filesystem_mirror path`;
  const aws = join(mirror, 'registry.terraform.io', 'hashicorp', 'aws');
  if (!existsSync(aws) || readdirSync(aws).length === 0)
    return `skipped: no AWS provider in the local mirror ${mirror} (expected ${aws}/<version>/<os_arch>)`;
  return undefined;
}

const reason = skipReason();
if (reason) console.log(`terraform-cli: ${reason}`);

describe('terraform CLI on the AWS module and example (local provider mirror)', { skip: reason }, () => {
  let work: string;
  const env = {
    ...process.env,
    TF_CLI_CONFIG_FILE: CLI_CONFIG,
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
  };
  const terraform = async (dir: string, ...args: string[]): Promise<string> => {
    try {
      const { stdout } = await run('terraform', [...args, '-no-color'], {
        cwd: dir,
        env,
        maxBuffer: 16 << 20,
      });
      return stdout;
    } catch (err) {
      const { stdout, stderr } = err as { stdout?: string; stderr?: string };
      assert.fail(`terraform ${args.join(' ')} in ${dir} failed:\n${stdout ?? ''}\n${stderr ?? ''}`);
    }
  };

  before(async () => {
    // init writes .terraform/ and a lock file: work on a copy so the repository stays clean.
    work = await mkdtemp(join(tmpdir(), 'tiergate-terraform-'));
    await cp(TERRAFORM_DIR, join(work, 'terraform'), {
      recursive: true,
      filter: (src) => !src.split(/[\\/]/).includes('.terraform'),
    });
  });

  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('terraform fmt -check finds every file formatted', async () => {
    await terraform(join(work, 'terraform'), 'fmt', '-check', '-recursive');
  });

  for (const dir of AWS_DIRS) {
    it(`${dir}: init -backend=false, validate, test`, async () => {
      const cwd = join(work, 'terraform', dir);
      const init = await terraform(cwd, 'init', '-backend=false');
      assert.match(init, /hashicorp\/aws/);
      assert.match(await terraform(cwd, 'validate'), /The configuration is valid/);
      const test = await terraform(cwd, 'test');
      const summary = /Success! (\d+) passed, 0 failed/.exec(test);
      assert.ok(summary, test);
      assert.ok(Number(summary[1]) >= 2, test);
    });
  }
});
