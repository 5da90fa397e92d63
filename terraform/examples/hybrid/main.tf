# Example: an on-premises tiergate that tiers to both clouds. Only the cloud side is provisioned: an S3 tier and an
# OSS tier (bucket and KMS key each), and for each a dedicated user with exactly the tier's access policy and an
# access key, because an on-premises node has no instance role. The outputs are the gateway's tier definitions.

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = var.tags
  }
}

provider "alicloud" {
  region = var.alicloud_region
}

module "aws_tier" {
  source = "../../modules/aws-tier"

  name   = var.name
  tags   = var.tags
  prefix = var.tier_prefix

  bucket_name = var.s3_bucket_name
}

module "oss_tier" {
  source = "../../modules/alicloud-tier"

  name   = var.name
  tags   = var.tags
  prefix = var.tier_prefix

  bucket_name = var.oss_bucket_name
}

resource "aws_iam_user" "gateway" {
  name = "${var.name}-onprem-gateway"
  path = "/tiergate/"
  tags = var.tags
}

resource "aws_iam_user_policy" "gateway" {
  name   = "tier-access"
  user   = aws_iam_user.gateway.name
  policy = module.aws_tier.access_policy_json
}

resource "aws_iam_access_key" "gateway" {
  user = aws_iam_user.gateway.name
}

resource "alicloud_ram_user" "gateway" {
  name     = "${var.name}-onprem-gateway"
  comments = "tiergate on-premises gateway: OSS tier and KMS key"
}

resource "alicloud_ram_policy" "gateway" {
  policy_name     = "${var.name}-onprem-tier-access"
  description     = "tiergate ${var.name}: OSS tier prefix and KMS key"
  policy_document = module.oss_tier.access_policy_json
}

resource "alicloud_ram_user_policy_attachment" "gateway" {
  user_name   = alicloud_ram_user.gateway.name
  policy_name = alicloud_ram_policy.gateway.policy_name
  policy_type = "Custom"
}

resource "alicloud_ram_access_key" "gateway" {
  user_name = alicloud_ram_user.gateway.name
}

locals {
  tiers = [
    merge(module.aws_tier.tier_definition, {
      accessKey = aws_iam_access_key.gateway.id
      secretKey = aws_iam_access_key.gateway.secret
    }),
    merge(module.oss_tier.tier_definition, {
      accessKey = alicloud_ram_access_key.gateway.id
      secretKey = alicloud_ram_access_key.gateway.secret
    }),
  ]
}
