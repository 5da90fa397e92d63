# The cloud tier: an S3 bucket that cold objects move to (public access blocked, owner-enforced, SSE-KMS with a
# bucket key by default, TLS-only policy, stale multipart uploads aborted) and the KMS key that encrypts it
# (yearly rotation, an alias). The gateway's own envelope encryption (TIERGATE_KMS=aws) can use the same key.

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
  bucket        = var.tier_bucket_name
  bucket_prefix = var.tier_bucket_name == null ? "${var.name}-tier-" : null
  force_destroy = var.tier_bucket_force_destroy

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
      prefix = var.tier_prefix
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "tier_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.tier.arn, "${aws_s3_bucket.tier.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "tier" {
  bucket = aws_s3_bucket.tier.id
  policy = data.aws_iam_policy_document.tier_bucket.json

  # A bucket policy put before the public access block can be refused as "public"; order them.
  depends_on = [aws_s3_bucket_public_access_block.tier]
}
