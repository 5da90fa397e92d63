# The tier bucket and key, the access policy to attach to whatever runs the gateway, and the tier definition.

output "bucket" {
  description = "Name of the S3 tier bucket."
  value       = aws_s3_bucket.tier.id
}

output "bucket_arn" {
  description = "ARN of the S3 tier bucket."
  value       = aws_s3_bucket.tier.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the tier bucket."
  value       = aws_kms_key.tier.arn
}

output "kms_alias" {
  description = "Alias of the KMS key."
  value       = aws_kms_alias.tier.name
}

output "access_policy_json" {
  description = "IAM policy (JSON) granting exactly the bucket and key actions the gateway uses."
  value       = jsonencode(local.access_policy)
}

output "tier_definition" {
  description = "Body for PUT /tiergate/admin/v1/tiers naming this bucket, without credentials (accessKey, secretKey)."
  value = {
    name         = "${var.name}-aws"
    type         = "s3"
    endpoint     = "https://s3.${data.aws_region.current.name}.${data.aws_partition.current.dns_suffix}"
    region       = data.aws_region.current.name
    bucket       = aws_s3_bucket.tier.id
    prefix       = var.prefix
    storageClass = var.storage_class
  }
}
