# Inputs of the alicloud-gateway module: naming and tags, network, ECS instances and their ESSD data disks, the OSS
# tier bucket and KMS key. Every input has a type, a description and, where sensible, a validation.

variable "name" {
  type        = string
  description = "Name prefix for every resource (lowercase letters, digits and hyphens, 2-24 characters)."

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

variable "vpc_cidr" {
  type        = string
  description = "CIDR of the VPC; the vSwitches are /24s carved from it."
  default     = "10.50.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 22
    error_message = "vpc_cidr must be an IPv4 CIDR of /22 or larger."
  }
}

variable "zone_ids" {
  type        = list(string)
  description = "Two zones for the vSwitches; empty picks the first two zones that offer ESSD disks and instance_type."
  default     = []

  validation {
    condition     = length(var.zone_ids) == 0 || length(var.zone_ids) == 2
    error_message = "Give exactly two zone ids, or none."
  }
}

variable "instance_count" {
  type        = number
  description = "Number of gateway nodes (ECS instances)."
  default     = 4

  validation {
    condition     = var.instance_count >= 1 && var.instance_count <= 32 && floor(var.instance_count) == var.instance_count
    error_message = "instance_count must be a whole number from 1 to 32."
  }
}

variable "instance_type" {
  type        = string
  description = "ECS instance type; the storage-optimized i4 family by default."
  default     = "ecs.i4.2xlarge"

  validation {
    condition     = can(regex("^ecs\\.[a-z0-9-]+\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must look like ecs.i4.2xlarge."
  }
}

variable "image_name_regex" {
  type        = string
  description = "Regex of the public (system) image to launch; the newest match is used."
  default     = "^debian_12_.*_x64_20G_alibase_.*\\.vhd$"
}

variable "key_name" {
  type        = string
  description = "ECS key pair for SSH (Ansible); null launches without one."
  default     = null
}

variable "internet_max_bandwidth_out" {
  type        = number
  description = "Public bandwidth per instance in Mbit/s; 0 gives the instances no public address."
  default     = 0

  validation {
    condition     = var.internet_max_bandwidth_out >= 0 && var.internet_max_bandwidth_out <= 100
    error_message = "internet_max_bandwidth_out must be from 0 to 100."
  }
}

variable "system_disk_size_gib" {
  type        = number
  description = "Size of each instance's system disk in GiB."
  default     = 40

  validation {
    condition     = var.system_disk_size_gib >= 20 && var.system_disk_size_gib <= 500
    error_message = "system_disk_size_gib must be from 20 to 500."
  }
}

variable "data_disk_count" {
  type        = number
  description = "ESSD data disks per instance (2-16); the gateway erasure-codes across all of them."
  default     = 4

  validation {
    condition     = var.data_disk_count >= 2 && var.data_disk_count <= 16 && floor(var.data_disk_count) == var.data_disk_count
    error_message = "data_disk_count must be a whole number from 2 to 16 (an erasure set needs two drives or more)."
  }
}

variable "data_disk_size_gib" {
  type        = number
  description = "Size of each ESSD data disk in GiB."
  default     = 500

  validation {
    condition     = var.data_disk_size_gib >= 20 && var.data_disk_size_gib <= 32768
    error_message = "data_disk_size_gib must be from 20 to 32768."
  }
}

variable "data_disk_performance_level" {
  type        = string
  description = "ESSD performance level of the data disks."
  default     = "PL1"

  validation {
    condition     = contains(["PL0", "PL1", "PL2", "PL3"], var.data_disk_performance_level)
    error_message = "data_disk_performance_level must be PL0, PL1, PL2 or PL3."
  }
}

variable "s3_port" {
  type        = number
  description = "TCP port the gateway serves S3 (and health, metrics, admin) on."
  default     = 9000

  validation {
    condition     = var.s3_port >= 1 && var.s3_port <= 65535
    error_message = "s3_port must be a TCP port (1-65535)."
  }
}

variable "allowed_cidrs" {
  type        = list(string)
  description = "IPv4 CIDRs allowed to reach the S3 port."

  validation {
    condition     = length(var.allowed_cidrs) > 0 && alltrue([for c in var.allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "allowed_cidrs must hold at least one IPv4 CIDR."
  }
}

variable "storage_port" {
  type        = number
  description = "TCP port of the gateways' internal storage API, through which the nodes of the cluster reach each other's drives (ansible tiergate_storage_port); open between the nodes only."
  default     = 9100

  validation {
    condition     = var.storage_port >= 1 && var.storage_port <= 65535
    error_message = "storage_port must be a TCP port (1-65535)."
  }
}

variable "internode_ports" {
  type        = list(number)
  description = "More TCP ports open only between the gateway nodes, besides storage_port: Redis by default."
  default     = [6379]

  validation {
    condition     = alltrue([for p in var.internode_ports : p >= 1 && p <= 65535])
    error_message = "internode_ports must be TCP ports (1-65535)."
  }
}

variable "ssh_allowed_cidrs" {
  type        = list(string)
  description = "IPv4 CIDRs allowed to reach SSH (port 22); empty opens no SSH port."
  default     = []

  validation {
    condition     = alltrue([for c in var.ssh_allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "ssh_allowed_cidrs must hold IPv4 CIDRs."
  }
}

variable "tier_bucket_name" {
  type        = string
  description = "Name of the OSS tier bucket (globally unique, 3-63 lowercase letters, digits and hyphens)."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.tier_bucket_name))
    error_message = "tier_bucket_name must be 3-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen."
  }
}

variable "tier_bucket_force_destroy" {
  type        = bool
  description = "Let terraform destroy delete a tier bucket that still holds objects (tiered data is lost)."
  default     = false
}

variable "tier_prefix" {
  type        = string
  description = "Key prefix the gateway writes tiered objects under; the RAM role may touch only these keys."
  default     = "tiergate/"

  validation {
    condition     = var.tier_prefix == "" || can(regex("^[A-Za-z0-9!_.*'()/-]+/$", var.tier_prefix))
    error_message = "tier_prefix must be empty or end with a slash and use safe key characters."
  }
}

variable "tier_storage_class" {
  type        = string
  description = "OSS storage class of tiered objects (the tier definition's storageClass)."
  default     = "IA"
}

variable "tier_abort_incomplete_uploads_days" {
  type        = number
  description = "Days after which OSS aborts a multipart upload under the tier prefix that is still incomplete (left open by a gateway killed mid-transition); a backstop to the gateway's reconciler."
  default     = 7

  validation {
    condition     = var.tier_abort_incomplete_uploads_days >= 1 && var.tier_abort_incomplete_uploads_days <= 365 && floor(var.tier_abort_incomplete_uploads_days) == var.tier_abort_incomplete_uploads_days
    error_message = "tier_abort_incomplete_uploads_days must be a whole number of days from 1 to 365."
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
