# The cloud tier (OSS bucket and KMS key, from ../alicloud-tier) and the nodes' RAM role (ECS instance role), which
# carries exactly the tier's access policy: no static AccessKey is needed on ECS.

module "tier" {
  source = "../alicloud-tier"

  name                          = var.name
  tags                          = var.tags
  bucket_name                   = var.tier_bucket_name
  force_destroy                 = var.tier_bucket_force_destroy
  prefix                        = var.tier_prefix
  storage_class                 = var.tier_storage_class
  abort_incomplete_uploads_days = var.tier_abort_incomplete_uploads_days
  kms_pending_window_days       = var.kms_pending_window_days
}

resource "alicloud_ram_role" "gateway" {
  role_name   = "${var.name}-gateway"
  description = "tiergate gateway nodes: tier bucket and KMS key"
  assume_role_policy_document = jsonencode({
    Version = "1"
    Statement = [{
      Action    = "sts:AssumeRole"
      Effect    = "Allow"
      Principal = { Service = ["ecs.aliyuncs.com"] }
    }]
  })
}

resource "alicloud_ram_policy" "gateway" {
  policy_name     = "${var.name}-gateway-tier-access"
  description     = "tiergate ${var.name}: OSS tier prefix and KMS key"
  policy_document = module.tier.access_policy_json
}

resource "alicloud_ram_role_policy_attachment" "gateway" {
  role_name   = alicloud_ram_role.gateway.role_name
  policy_name = alicloud_ram_policy.gateway.policy_name
  policy_type = "Custom"
}
