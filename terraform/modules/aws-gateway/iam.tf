# The cloud tier (bucket and KMS key, from ../aws-tier) and the nodes' instance role, which carries exactly the
# tier's access policy: no static access keys are needed on EC2.

module "tier" {
  source = "../aws-tier"

  name                          = var.name
  tags                          = var.tags
  bucket_name                   = var.tier_bucket_name
  force_destroy                 = var.tier_bucket_force_destroy
  prefix                        = var.tier_prefix
  storage_class                 = var.tier_storage_class
  abort_incomplete_uploads_days = var.tier_abort_incomplete_uploads_days
  kms_deletion_window_days      = var.kms_deletion_window_days
}

resource "aws_iam_role" "gateway" {
  name_prefix = "${var.name}-gateway-"
  description = "tiergate gateway nodes: tier bucket and KMS key"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EC2AssumeRole"
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "ec2.${data.aws_partition.current.dns_suffix}" }
    }]
  })

  tags = local.tags
}

resource "aws_iam_role_policy" "gateway" {
  name_prefix = "tier-access-"
  role        = aws_iam_role.gateway.id
  policy      = module.tier.access_policy_json
}

resource "aws_iam_instance_profile" "gateway" {
  name_prefix = "${var.name}-gateway-"
  role        = aws_iam_role.gateway.name

  tags = local.tags
}
