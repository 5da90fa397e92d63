# aws-tier: the cloud tier on AWS, used by aws-gateway (EC2 nodes) and examples/hybrid (on-prem nodes). An S3 bucket
# that cold objects move to (public access blocked, owner-enforced, SSE-KMS with a bucket key by default, TLS-only
# policy, multipart uploads still incomplete after abort_incomplete_uploads_days aborted), the KMS key that encrypts it (yearly rotation, an alias), and the access
# policy the gateway needs, for the caller to attach to an instance role or a user.

locals {
  tags = merge(var.tags, { Module = "tiergate/aws-tier" })
}

data "aws_region" "current" {}

data "aws_partition" "current" {}

resource "aws_kms_key" "tier" {
  description             = "tiergate ${var.name}: tier bucket and data keys"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days

  tags = merge(local.tags, { Name = "${var.name}-tier" })
}

resource "aws_kms_alias" "tier" {
  name          = "alias/${var.name}-tier"
  target_key_id = aws_kms_key.tier.key_id
}

resource "aws_s3_bucket" "tier" {
  bucket        = var.bucket_name
  bucket_prefix = var.bucket_name == null ? "${var.name}-tier-" : null
  force_destroy = var.force_destroy

  tags = merge(local.tags, { Name = "${var.name}-tier" })
}

resource "aws_s3_bucket_public_access_block" "tier" {
  bucket = aws_s3_bucket.tier.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "tier" {
  bucket = aws_s3_bucket.tier.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "tier" {
  bucket = aws_s3_bucket.tier.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.tier.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "tier" {
  bucket = aws_s3_bucket.tier.id

  rule {
    id     = "abort-stale-multipart-uploads"
    status = "Enabled"

    filter {
      prefix = var.prefix
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_uploads_days
    }
  }
}

resource "aws_s3_bucket_policy" "tier" {
  bucket = aws_s3_bucket.tier.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.tier.arn, "${aws_s3_bucket.tier.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  # A bucket policy put before the public access block can be refused as "public"; order them.
  depends_on = [aws_s3_bucket_public_access_block.tier]
}

# Exactly the actions the gateway's S3 tier backend and AWS KMS provider use: listing the prefix, put/get/delete
# and restore of objects under it, listing and aborting the multipart uploads left open under it (the reconciler),
# and data keys from this one key. ListBucketMultipartUploads takes no s3:prefix condition (S3 defines that key for
# ListBucket and ListBucketVersions only), so it is granted on the bucket; the gateway always lists with the tier
# prefix, and aborting is still limited to keys under it.
locals {
  access_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "ListTierPrefix"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = [aws_s3_bucket.tier.arn]
        Condition = { StringLike = { "s3:prefix" = ["${var.prefix}*"] } }
      },
      {
        Sid      = "ListTierUploads"
        Effect   = "Allow"
        Action   = ["s3:ListBucketMultipartUploads"]
        Resource = [aws_s3_bucket.tier.arn]
      },
      {
        Sid    = "TierObjects"
        Effect = "Allow"
        Action = [
          "s3:PutObject",
          "s3:GetObject",
          "s3:DeleteObject",
          "s3:RestoreObject",
          "s3:AbortMultipartUpload",
          "s3:ListMultipartUploadParts",
        ]
        Resource = ["${aws_s3_bucket.tier.arn}/${var.prefix}*"]
      },
      {
        Sid      = "TierKey"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"]
        Resource = [aws_kms_key.tier.arn]
      },
    ]
  }
}
