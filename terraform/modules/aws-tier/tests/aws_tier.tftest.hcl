# terraform test for the aws-tier module on a mocked AWS provider: the bucket hardening (public access block,
# owner-enforced, SSE-KMS, TLS-only policy), the rule aborting incomplete multipart uploads, the rotating key and its
# alias, the exact access policy, the tier definition, and the validations.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { id = "tg-tier-0001", arn = "arn:aws:s3:::tg-tier-0001" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:111122223333:key/0d6a7c9e-0000-4000-8000-000000000001", key_id = "0d6a7c9e-0000-4000-8000-000000000001" }
  }
}

variables {
  name = "tg"
  tags = { Environment = "test" }
}

run "bucket_and_key_are_hardened" {
  command = apply

  assert {
    condition     = aws_s3_bucket_public_access_block.tier.block_public_acls && aws_s3_bucket_public_access_block.tier.block_public_policy && aws_s3_bucket_public_access_block.tier.ignore_public_acls && aws_s3_bucket_public_access_block.tier.restrict_public_buckets
    error_message = "All public access must be blocked."
  }
  assert {
    condition     = one(aws_s3_bucket_ownership_controls.tier.rule).object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (bucket owner enforced)."
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.tier.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" && one(one(aws_s3_bucket_server_side_encryption_configuration.tier.rule).apply_server_side_encryption_by_default).kms_master_key_id == aws_kms_key.tier.arn
    error_message = "Default encryption must be SSE-KMS with the tier key."
  }
  assert {
    condition     = jsondecode(aws_s3_bucket_policy.tier.policy).Statement[0].Effect == "Deny" && jsondecode(aws_s3_bucket_policy.tier.policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false"
    error_message = "The bucket policy must deny requests without TLS."
  }
  assert {
    condition     = aws_kms_key.tier.enable_key_rotation && aws_kms_alias.tier.name == "alias/tg-tier" && aws_kms_alias.tier.target_key_id == aws_kms_key.tier.key_id
    error_message = "The KMS key must rotate and have its alias."
  }
  assert {
    condition     = aws_s3_bucket.tier.bucket_prefix == "tg-tier-" && aws_s3_bucket.tier.tags["Environment"] == "test" && aws_kms_key.tier.tags["Module"] == "tiergate/aws-tier"
    error_message = "Bucket naming or tags are wrong."
  }
  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.tier.rule).status == "Enabled" && one(one(aws_s3_bucket_lifecycle_configuration.tier.rule).filter).prefix == "tiergate/" && one(one(aws_s3_bucket_lifecycle_configuration.tier.rule).abort_incomplete_multipart_upload).days_after_initiation == 7
    error_message = "Multipart uploads under the prefix still incomplete after 7 days (the default) must be aborted."
  }
}

run "access_policy_is_exactly_what_the_gateway_uses" {
  command = apply

  assert {
    condition     = length(jsondecode(output.access_policy_json).Statement) == 4
    error_message = "The access policy must have exactly four statements."
  }
  assert {
    condition     = jsondecode(output.access_policy_json).Statement[0].Action == ["s3:ListBucket"] && jsondecode(output.access_policy_json).Statement[0].Resource == ["arn:aws:s3:::tg-tier-0001"] && jsondecode(output.access_policy_json).Statement[0].Condition.StringLike["s3:prefix"] == ["tiergate/*"]
    error_message = "Listing must be limited to the tier prefix of the tier bucket."
  }
  assert {
    condition     = jsondecode(output.access_policy_json).Statement[1].Action == ["s3:ListBucketMultipartUploads"] && jsondecode(output.access_policy_json).Statement[1].Resource == ["arn:aws:s3:::tg-tier-0001"]
    error_message = "Listing multipart uploads (the reconciler) must be allowed on the tier bucket."
  }
  assert {
    condition     = toset(jsondecode(output.access_policy_json).Statement[2].Action) == toset(["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:RestoreObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]) && jsondecode(output.access_policy_json).Statement[2].Resource == ["arn:aws:s3:::tg-tier-0001/tiergate/*"]
    error_message = "Object actions must be the gateway's, on the tier prefix only."
  }
  assert {
    condition     = toset(jsondecode(output.access_policy_json).Statement[3].Action) == toset(["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"]) && jsondecode(output.access_policy_json).Statement[3].Resource == [aws_kms_key.tier.arn]
    error_message = "KMS actions must be the three the gateway uses, on the tier key only."
  }
  assert {
    condition     = output.tier_definition == { name = "tg-aws", type = "s3", endpoint = "https://s3.eu-west-1.amazonaws.com", region = "eu-west-1", bucket = "tg-tier-0001", prefix = "tiergate/", storageClass = "STANDARD_IA" }
    error_message = "The tier definition must describe the bucket."
  }
}

run "named_bucket_other_prefix_and_abort_days" {
  command = apply

  variables {
    bucket_name                   = "acme-cold-data"
    prefix                        = "site-a/"
    abort_incomplete_uploads_days = 2
  }

  assert {
    condition     = aws_s3_bucket.tier.bucket == "acme-cold-data"
    error_message = "A given bucket name must be used as is."
  }
  assert {
    condition     = jsondecode(output.access_policy_json).Statement[2].Resource == ["arn:aws:s3:::tg-tier-0001/site-a/*"]
    error_message = "The policy must follow the prefix."
  }
  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.tier.rule).filter).prefix == "site-a/" && one(one(aws_s3_bucket_lifecycle_configuration.tier.rule).abort_incomplete_multipart_upload).days_after_initiation == 2
    error_message = "The abort rule must follow the prefix and abort_incomplete_uploads_days."
  }
}

run "rejects_bad_input" {
  command = plan

  variables {
    bucket_name                   = "Not_A_Bucket"
    prefix                        = "no-trailing-slash"
    storage_class                 = "COLD"
    kms_deletion_window_days      = 3
    abort_incomplete_uploads_days = 0
  }

  expect_failures = [var.bucket_name, var.prefix, var.storage_class, var.kms_deletion_window_days, var.abort_incomplete_uploads_days]
}
