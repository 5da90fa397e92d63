/**
 * The Terraform cross-reference check (hcl-references.ts): the real terraform/ tree is clean and follows the standard
 * module structure, and each kind of error, planted into a small two-module fixture or into the real files, is
 * reported, with nothing else.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { checkTerraform, loadTerraformFiles, traversals } from './hcl-references';

// Compiled to dist/test/infra/, three levels below the repository root.
const TERRAFORM_DIR = join(__dirname, '..', '..', '..', 'terraform');

const CHILD = `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "name" {
  type        = string
  description = "bucket name"
}

variable "size" {
  type        = number
  description = "unused, optional"
  default     = 1
}

resource "aws_s3_bucket" "b" {
  bucket = var.name
}

output "bucket" {
  description = "the bucket"
  value       = aws_s3_bucket.b.id
}
`;

const ROOT = `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "v" {
  type        = string
  description = "a tag"
  default     = "a"
}

data "aws_region" "current" {}

locals {
  n     = "x-\${data.aws_region.current.name}"
  pairs = { for k, aws_like in { a = 1 } : k => aws_like }
}

module "child" {
  source = "../child"
  name   = local.n
}

resource "aws_kms_key" "k" {
  description = module.child.bucket
  tags        = { T = var.v, Where = path.module, Ws = terraform.workspace }

  dynamic "timeouts" {
    for_each = [1]
    content {
      create = "\${timeouts.value}m"
    }
  }
}

resource "aws_kms_alias" "a" {
  count         = 2
  name          = "alias/\${count.index}"
  target_key_id = aws_kms_key.k.key_id
}

output "o" {
  description = "key"
  value       = aws_kms_key.k.arn
}

output "p" {
  description = "bucket"
  value       = module.child.bucket
}
`;

function fixture(root = ROOT, child = CHILD): Map<string, string> {
  return new Map([
    ['fx/root/main.tf', root],
    ['fx/child/main.tf', child],
  ]);
}

/** Applies one textual change to the root module, failing loudly if the text to change is not there. */
function plant(from: string, to: string, text = ROOT): string {
  assert.ok(text.includes(from), `fixture lacks ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

describe('traversals', () => {
  it('finds roots and attributes, skipping for-expression iterators and mid-chain names', () => {
    assert.deepEqual(traversals('[for s in aws_subnet.this : s.id]'), [['aws_subnet', 'this']]);
    assert.deepEqual(traversals('module.m[0].out.x'), [['module', 'm', 'out']]);
    assert.deepEqual(traversals('{ for k, v in var.m : k => aws_instance.x[k].id }'), [
      ['var', 'm'],
      ['aws_instance', 'x', 'id'],
    ]);
  });
});

describe('checkTerraform on planted errors', () => {
  it('reports nothing for the clean fixture', async () => {
    const result = await checkTerraform(fixture());
    assert.deepEqual(result.problems, []);
    assert.equal(result.modules, 2);
    assert.ok(result.references >= 9, `only ${result.references} references checked`);
  });

  const cases: { kind: string; root?: string; child?: string; expect: RegExp }[] = [
    {
      kind: 'undeclared var.',
      root: plant('T = var.v', 'T = var.nope'),
      expect: /var\.nope is not declared/,
    },
    {
      kind: 'undeclared local.',
      root: plant('name   = local.n', 'name   = local.m'),
      expect: /local\.m is not declared/,
    },
    {
      kind: 'undeclared module.',
      root: plant('description = module.child.bucket', 'description = module.kid.bucket'),
      expect: /module\.kid is not declared/,
    },
    {
      kind: 'undeclared data source',
      root: plant('data.aws_region.current.name', 'data.aws_region.here.name'),
      expect: /data\.aws_region\.here is not declared/,
    },
    {
      kind: 'undeclared resource',
      root: plant('target_key_id = aws_kms_key.k.key_id', 'target_key_id = aws_kms_key.other.key_id'),
      expect: /aws_kms_key\.other is not declared/,
    },
    {
      kind: 'module source that does not exist',
      root: plant('source = "../child"', 'source = "../children"'),
      expect: /module\.child: source "\.\.\/children" has no \.tf files/,
    },
    {
      kind: 'unknown module argument',
      root: plant('  name   = local.n\n', '  name   = local.n\n  colour = "red"\n'),
      expect: /module\.child: unknown argument "colour"/,
    },
    {
      kind: 'missing module argument',
      root: plant('  name   = local.n\n', ''),
      expect: /module\.child: missing required argument "name"/,
    },
    {
      kind: 'output pointing at an undeclared resource',
      root: plant('value       = aws_kms_key.k.arn', 'value       = aws_kms_key.key.arn'),
      expect: /output\.o: aws_kms_key\.key is not declared/,
    },
    {
      kind: 'reference to an output the module does not have',
      root: plant('value       = module.child.bucket', 'value       = module.child.bucket_arn'),
      expect: /output\.p: module\.child\.bucket_arn: fx\/child has no output "bucket_arn"/,
    },
    {
      kind: 'output without a value',
      root: `${ROOT}\noutput "q" {\n  description = "nothing"\n}\n`,
      expect: /output\.q has no value/,
    },
    {
      kind: 'resource whose provider is not required',
      root: `${ROOT}\nresource "random_id" "r" {\n  byte_length = 4\n}\n`,
      expect: /random_id: provider "random" is not in required_providers/,
    },
    {
      kind: 'undocumented variable',
      child: CHILD.replace('  description = "bucket name"\n', ''),
      expect: /variable\.name needs a type and a description/,
    },
  ];

  for (const { kind, root, child, expect } of cases) {
    it(`reports exactly one problem for: ${kind}`, async () => {
      const { problems } = await checkTerraform(fixture(root, child));
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0], expect);
    });
  }

  it('reports a file that does not parse', async () => {
    const { problems } = await checkTerraform(fixture(`${ROOT}\nresource "aws_kms_key" {\n`));
    assert.ok(
      problems.some((p) => p.startsWith('fx/root/main.tf: does not parse')),
      problems.join('\n'),
    );
  });
});

describe('checkTerraform on terraform/', () => {
  let files: Map<string, string>;

  before(async () => {
    files = await loadTerraformFiles(TERRAFORM_DIR);
  });

  it('finds no problem in any module or example', async () => {
    const result = await checkTerraform(files);
    assert.deepEqual(result.problems, []);
    assert.equal(result.modules, 7);
    assert.ok(result.references > 200, `only ${result.references} references checked`);
  });

  it('has every module and example in the standard structure', () => {
    for (const dir of [
      'modules/aws-gateway',
      'modules/aws-tier',
      'modules/alicloud-gateway',
      'modules/alicloud-tier',
      'examples/aws',
      'examples/alicloud',
      'examples/hybrid',
    ]) {
      for (const file of ['main.tf', 'variables.tf', 'outputs.tf', 'versions.tf'])
        assert.ok(files.has(`${dir}/${file}`), `${dir}/${file} is missing`);
    }
    assert.ok(existsSync(join(TERRAFORM_DIR, 'modules/aws-gateway/templates/inventory.yml.tftpl')));
  });

  it('catches errors planted in the real files', async () => {
    const mutate = (file: string, from: string, to: string): Map<string, string> => {
      const text = files.get(file) ?? '';
      assert.ok(text.includes(from), `${file} lacks ${from}`);
      return new Map([...files, [file, text.replace(from, to)]]);
    };
    let result = await checkTerraform(
      mutate('modules/aws-gateway/iam.tf', 'module.tier.access_policy_json', 'module.tier.access_policy'),
    );
    assert.deepEqual(result.problems, [
      'modules/aws-gateway/iam.tf: aws_iam_role_policy.gateway: module.tier.access_policy: modules/aws-tier has no output "access_policy"',
    ]);
    result = await checkTerraform(
      mutate('examples/aws/main.tf', '  allowed_cidrs       = var.allowed_cidrs\n', ''),
    );
    assert.deepEqual(result.problems, [
      'examples/aws/main.tf: module.gateway: missing required argument "allowed_cidrs"',
    ]);
    result = await checkTerraform(
      mutate(
        'modules/alicloud-gateway/outputs.tf',
        'alicloud_instance.gateway[*].private_ip',
        'alicloud_instance.node[*].private_ip',
      ),
    );
    assert.deepEqual(result.problems, [
      'modules/alicloud-gateway/outputs.tf: output.private_ips: alicloud_instance.node is not declared',
    ]);
  });
});
