# The tier bucket and key, the RAM policy to attach to whatever runs the gateway, and the tier definition.

output "bucket" {
  description = "Name of the OSS tier bucket."
  value       = alicloud_oss_bucket.tier.bucket
}

output "kms_key_id" {
  description = "Id of the KMS key that encrypts the tier bucket."
  value       = alicloud_kms_key.tier.id
}

output "kms_alias" {
  description = "Alias of the KMS key."
  value       = alicloud_kms_alias.tier.alias_name
}

output "access_policy_json" {
  description = "RAM policy (JSON) granting exactly the bucket and key actions the gateway uses."
  value       = jsonencode(local.gateway_policy)
}

output "tier_definition" {
  description = "Body for PUT /tiergate/admin/v1/tiers naming this bucket, without credentials (accessKey, secretKey)."
  value = {
    name         = "${var.name}-oss"
    type         = "oss"
    endpoint     = "https://oss-${local.region}.aliyuncs.com"
    region       = local.region
    bucket       = alicloud_oss_bucket.tier.bucket
    prefix       = var.prefix
    storageClass = var.storage_class
  }
}
