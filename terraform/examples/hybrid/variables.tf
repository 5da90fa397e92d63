# Inputs of the hybrid example: the regions and bucket names of the two cloud tiers of an on-premises gateway.

variable "name" {
  type        = string
  description = "Name prefix for every resource."
  default     = "tiergate"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name))
    error_message = "name must be 2-24 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "aws_region" {
  type        = string
  description = "AWS region of the S3 tier."
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like eu-west-1."
  }
}

variable "alicloud_region" {
  type        = string
  description = "Alibaba Cloud region of the OSS tier."
  default     = "eu-central-1"

  validation {
    condition     = can(regex("^[a-z]{2}-[a-z0-9-]+$", var.alicloud_region))
    error_message = "alicloud_region must look like eu-central-1 or cn-hangzhou."
  }
}

variable "oss_bucket_name" {
  type        = string
  description = "Globally unique name of the OSS tier bucket."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.oss_bucket_name))
    error_message = "oss_bucket_name must be 3-63 lowercase letters, digits or hyphens."
  }
}

variable "s3_bucket_name" {
  type        = string
  description = "Name of the S3 tier bucket; null lets AWS generate one."
  default     = null
}

variable "tier_prefix" {
  type        = string
  description = "Key prefix the on-premises gateway writes under in both tiers."
  default     = "tiergate/"

  validation {
    condition     = var.tier_prefix == "" || endswith(var.tier_prefix, "/")
    error_message = "tier_prefix must be empty or end with a slash."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource."
  default     = { Project = "tiergate" }
}
