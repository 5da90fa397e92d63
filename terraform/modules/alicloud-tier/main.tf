# alicloud-tier: the cloud tier on Alibaba Cloud, used by alicloud-gateway (ECS nodes) and examples/hybrid (on-prem
# nodes). A private OSS bucket that cold objects move to, encrypted server-side with the module's KMS key, public
# access blocked, multipart uploads still incomplete after abort_incomplete_uploads_days aborted; the KMS key (yearly automatic rotation, an alias); and the RAM policy the gateway needs, for the
# caller to attach to an ECS role or a RAM user.

data "alicloud_account" "current" {}

data "alicloud_regions" "current" {
  current = true
}

locals {
  tags   = merge(var.tags, { Module = "tiergate/alicloud-tier" })
  region = data.alicloud_regions.current.regions[0].id
}

resource "alicloud_kms_key" "tier" {
  description            = "tiergate ${var.name}: tier bucket and data keys"
  key_spec               = "Aliyun_AES_256"
  key_usage              = "ENCRYPT/DECRYPT"
  automatic_rotation     = "Enabled"
  rotation_interval      = "365d"
  pending_window_in_days = var.kms_pending_window_days
  status                 = "Enabled"
  tags                   = local.tags
}

resource "alicloud_kms_alias" "tier" {
  alias_name = "alias/${var.name}-tier"
  key_id     = alicloud_kms_key.tier.id
}

resource "alicloud_oss_bucket" "tier" {
  bucket        = var.bucket_name
  storage_class = "Standard"
  force_destroy = var.force_destroy
  tags          = local.tags

  lifecycle_rule {
    id      = "abort-stale-multipart-uploads"
    prefix  = var.prefix
    enabled = true

    abort_multipart_upload {
      days = var.abort_incomplete_uploads_days
    }
  }

  lifecycle {
    ignore_changes = [server_side_encryption_rule]
  }
}

resource "alicloud_oss_bucket_acl" "tier" {
  bucket = alicloud_oss_bucket.tier.bucket
  acl    = "private"
}

resource "alicloud_oss_bucket_public_access_block" "tier" {
  bucket              = alicloud_oss_bucket.tier.bucket
  block_public_access = true
}

resource "alicloud_oss_bucket_server_side_encryption" "tier" {
  bucket            = alicloud_oss_bucket.tier.bucket
  sse_algorithm     = "KMS"
  kms_master_key_id = alicloud_kms_key.tier.id
}

# Exactly the actions the gateway's OSS tier backend and Alibaba KMS provider use: listing the prefix, put/get/delete
# and restore of objects under it, listing and aborting the multipart uploads left open under it (the reconciler),
# and data keys from this one key. ListMultipartUploads is granted on the bucket without an oss:Prefix condition;
# the gateway always lists with the tier prefix, and aborting is still limited to keys under it.
locals {
  oss_bucket_arn = "acs:oss:*:${data.alicloud_account.current.id}:${alicloud_oss_bucket.tier.bucket}"
  kms_key_arn    = "acs:kms:${local.region}:${data.alicloud_account.current.id}:key/${alicloud_kms_key.tier.id}"

  gateway_policy = {
    Version = "1"
    Statement = [
      {
        Effect    = "Allow"
        Action    = ["oss:ListObjects"]
        Resource  = [local.oss_bucket_arn]
        Condition = { StringLike = { "oss:Prefix" = ["${var.prefix}*"] } }
      },
      {
        Effect   = "Allow"
        Action   = ["oss:ListMultipartUploads"]
        Resource = [local.oss_bucket_arn]
      },
      {
        Effect = "Allow"
        Action = [
          "oss:PutObject",
          "oss:GetObject",
          "oss:DeleteObject",
          "oss:RestoreObject",
          "oss:AbortMultipartUpload",
          "oss:ListParts",
        ]
        Resource = ["${local.oss_bucket_arn}/${var.prefix}*"]
      },
      {
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"]
        Resource = [local.kms_key_arn]
      },
    ]
  }
}
