# Inputs of the alicloud-tier module: the OSS tier bucket, the key prefix the gateway writes under, and the KMS key.

variable "name" {
  type        = string
  description = "Name prefix for the key alias, policy and tags (lowercase letters, digits and hyphens, 2-24 characters)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name))
    error_message = "name must be 2-24 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource that takes tags."
  default     = {}
}

variable "bucket_name" {
  type        = string
  description = "Name of the OSS tier bucket (globally unique, 3-63 lowercase letters, digits and hyphens)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Let terraform destroy delete a tier bucket that still holds objects (tiered data is lost)."
  default     = false
}

variable "prefix" {
  type        = string
  description = "Key prefix the gateway writes tiered objects under; the access policy covers only these keys."
  default     = "tiergate/"

  validation {
    condition     = var.prefix == "" || can(regex("^[A-Za-z0-9!_.*'()/-]+/$", var.prefix))
    error_message = "prefix must be empty or end with a slash and use safe key characters."
  }
}

variable "storage_class" {
  type        = string
  description = "OSS storage class the gateway writes tiered objects with (the tier definition's storageClass)."
  default     = "IA"

  validation {
    condition     = contains(["Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive"], var.storage_class)
    error_message = "storage_class must be Standard, IA, Archive, ColdArchive or DeepColdArchive."
  }
}

variable "abort_incomplete_uploads_days" {
  type        = number
  description = "Days after which OSS deletes the parts of a multipart upload under the prefix that is still incomplete (a gateway killed mid-transition leaves one open; its parts are billed until aborted). The gateway's reconciler aborts them sooner; this rule is the backstop."
  default     = 7

  validation {
    condition     = var.abort_incomplete_uploads_days >= 1 && var.abort_incomplete_uploads_days <= 365 && floor(var.abort_incomplete_uploads_days) == var.abort_incomplete_uploads_days
    error_message = "abort_incomplete_uploads_days must be a whole number of days from 1 to 365."
  }
}

variable "kms_pending_window_days" {
  type        = number
  description = "Waiting period before a deleted KMS key is destroyed (data tiered under it is unreadable after)."
  default     = 30

  validation {
    condition     = var.kms_pending_window_days >= 7 && var.kms_pending_window_days <= 366
    error_message = "kms_pending_window_days must be from 7 to 366."
  }
}
