# The module's outputs that a deployment needs next: endpoints, the tier, and the Ansible inventory.

output "endpoints" {
  description = "S3 endpoint of each gateway node."
  value       = module.gateway.endpoints
}

output "tier_bucket" {
  description = "The S3 tier bucket."
  value       = module.gateway.tier_bucket
}

output "kms_key_arn" {
  description = "The KMS key of the tier bucket and the gateway's data keys."
  value       = module.gateway.kms_key_arn
}

output "tier_definition" {
  description = "The tier definition for ansible (tiergate_tiers)."
  value       = module.gateway.tier_definition
}

output "ansible_inventory" {
  description = "Ansible inventory for ansible/site.yml."
  value       = module.gateway.ansible_inventory
}
