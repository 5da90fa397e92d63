# The tier definitions of the on-premises gateway, as data and as Ansible variables (both secret: they hold keys).

output "tier_buckets" {
  description = "The S3 and OSS tier buckets."
  value       = { aws = module.aws_tier.bucket, alicloud = module.oss_tier.bucket }
}

output "kms_keys" {
  description = "The KMS keys of the two tiers."
  value       = { aws = module.aws_tier.kms_key_arn, alicloud = module.oss_tier.kms_key_id }
}

output "tiers" {
  description = "Bodies for PUT /tiergate/admin/v1/tiers, with the access keys of the dedicated users."
  value       = local.tiers
  sensitive   = true
}

output "ansible_tier_vars" {
  description = "YAML for an Ansible vars file (e.g. group_vars/tiergate/tiers.yml, kept in ansible-vault)."
  value       = yamlencode({ tiergate_tiers = local.tiers })
  sensitive   = true
}
