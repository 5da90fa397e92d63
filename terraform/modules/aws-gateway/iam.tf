# The nodes' instance role: exactly the tier bucket and KMS key actions the gateway uses (tier objects under
# tier_prefix: put, get, delete, restore, multipart clean-up; listing that prefix; data keys from the one KMS key).
# No static access keys are needed on EC2.

locals {
  tier_object_arn = "${aws_s3_bucket.tier.arn}/${var.tier_prefix}*"
}

data "aws_iam_policy_document" "assume_ec2" {
  statement {
    sid     = "EC2AssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.${data.aws_partition.current.dns_suffix}"]
    }
  }
}

data "aws_iam_policy_document" "gateway" {
  statement {
    sid       = "ListTierPrefix"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.tier.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.tier_prefix}*"]
    }
  }

  statement {
    sid = "TierObjects"
    actions = [
      "s3:PutObject",
      "s3:GetObject",
      "s3:DeleteObject",
      "s3:RestoreObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = [local.tier_object_arn]
  }

  statement {
    sid = "TierKey"
    actions = [
      "kms:GenerateDataKey",
      "kms:Decrypt",
      "kms:DescribeKey",
    ]
    resources = [aws_kms_key.tier.arn]
  }
}

resource "aws_iam_role" "gateway" {
  name_prefix        = "${var.name}-gateway-"
  description        = "tiergate gateway nodes: tier bucket and KMS key"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json

  tags = local.tags
}

resource "aws_iam_role_policy" "gateway" {
  name_prefix = "tier-access-"
  role        = aws_iam_role.gateway.id
  policy      = data.aws_iam_policy_document.gateway.json
}

resource "aws_iam_instance_profile" "gateway" {
  name_prefix = "${var.name}-gateway-"
  role        = aws_iam_role.gateway.name

  tags = local.tags
}
