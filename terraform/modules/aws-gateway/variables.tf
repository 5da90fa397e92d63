# Inputs of the aws-gateway module: naming and tags, network, instances and their data volumes, the tier bucket
# and KMS key. Every input has a type, a description and, where a wrong value would only fail at apply, a validation.

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
  description = "Tags added to every resource that takes tags (merged over the module's own Name and Module tags)."
  default     = {}
}

variable "vpc_id" {
  type        = string
  description = "Existing VPC to deploy into; null creates a VPC with one subnet per availability zone."
  default     = null

  validation {
    condition     = var.vpc_id == null || can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Subnets of the existing VPC (two or more, in different availability zones); required with vpc_id."
  default     = []

  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "Every subnet id must look like subnet-0123456789abcdef0."
  }
}

variable "vpc_cidr" {
  type        = string
  description = "CIDR of the VPC the module creates (ignored with vpc_id); subnets are /24s carved from it."
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 22
    error_message = "vpc_cidr must be an IPv4 CIDR of /22 or larger."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones for the created subnets; empty picks the first az_count zones of the region."
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) >= 2
    error_message = "Give two or more availability zones, or none."
  }
}

variable "az_count" {
  type        = number
  description = "How many availability zones to spread over when availability_zones is empty."
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6 && floor(var.az_count) == var.az_count
    error_message = "az_count must be a whole number from 2 to 6."
  }
}

variable "instance_count" {
  type        = number
  description = "Number of gateway nodes (EC2 instances)."
  default     = 4

  validation {
    condition     = var.instance_count >= 1 && var.instance_count <= 32 && floor(var.instance_count) == var.instance_count
    error_message = "instance_count must be a whole number from 1 to 32."
  }
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type; storage-optimized by default."
  default     = "i4i.xlarge"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must look like i4i.xlarge."
  }
}

variable "ami_id" {
  type        = string
  description = "AMI to launch; null looks up the newest image of ami_os."
  default     = null

  validation {
    condition     = var.ami_id == null || can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "ami_id must look like ami-0123456789abcdef0."
  }
}

variable "ami_os" {
  type        = string
  description = "Operating system of the looked-up AMI: debian (Debian 12) or amazon-linux (Amazon Linux 2023)."
  default     = "debian"

  validation {
    condition     = contains(["debian", "amazon-linux"], var.ami_os)
    error_message = "ami_os must be debian or amazon-linux."
  }
}

variable "ami_architecture" {
  type        = string
  description = "CPU architecture of the looked-up AMI; must match instance_type."
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.ami_architecture)
    error_message = "ami_architecture must be x86_64 or arm64."
  }
}

variable "key_name" {
  type        = string
  description = "EC2 key pair for SSH (Ansible); null launches without one (use SSM or your own image)."
  default     = null
}

variable "associate_public_ip" {
  type        = bool
  description = "Give each instance a public IPv4 address (needed to reach it from outside the VPC without a VPN)."
  default     = false
}

variable "root_volume_size_gib" {
  type        = number
  description = "Size of each instance's root volume in GiB."
  default     = 30

  validation {
    condition     = var.root_volume_size_gib >= 8 && var.root_volume_size_gib <= 1024
    error_message = "root_volume_size_gib must be from 8 to 1024."
  }
}

variable "data_volume_count" {
  type        = number
  description = "gp3 EBS data volumes per instance (2-16); the gateway erasure-codes across all of them."
  default     = 4

  validation {
    condition     = var.data_volume_count >= 2 && var.data_volume_count <= 16 && floor(var.data_volume_count) == var.data_volume_count
    error_message = "data_volume_count must be a whole number from 2 to 16 (an erasure set needs two drives or more)."
  }
}

variable "data_volume_size_gib" {
  type        = number
  description = "Size of each data volume in GiB."
  default     = 500

  validation {
    condition     = var.data_volume_size_gib >= 1 && var.data_volume_size_gib <= 16384
    error_message = "data_volume_size_gib must be from 1 to 16384."
  }
}

variable "data_volume_iops" {
  type        = number
  description = "Provisioned IOPS of each gp3 data volume (3000 is included in the gp3 price)."
  default     = 3000

  validation {
    condition     = var.data_volume_iops >= 3000 && var.data_volume_iops <= 16000
    error_message = "data_volume_iops must be from 3000 to 16000."
  }
}

variable "data_volume_throughput" {
  type        = number
  description = "Provisioned throughput of each gp3 data volume in MiB/s (125 is included in the gp3 price)."
  default     = 125

  validation {
    condition     = var.data_volume_throughput >= 125 && var.data_volume_throughput <= 1000
    error_message = "data_volume_throughput must be from 125 to 1000."
  }
}

variable "placement_group_strategy" {
  type        = string
  description = "Create a placement group with this strategy (cluster, spread or partition); null creates none."
  default     = null

  validation {
    condition     = var.placement_group_strategy == null || contains(["cluster", "spread", "partition"], coalesce(var.placement_group_strategy, "none"))
    error_message = "placement_group_strategy must be cluster, spread, partition or null."
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
  description = "IPv4 CIDRs allowed to reach the S3 port; nothing else reaches the nodes from outside, except SSH if enabled."

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
  description = "Name of the S3 tier bucket; null lets AWS generate one from the name prefix."
  default     = null

  validation {
    condition     = var.tier_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.tier_bucket_name))
    error_message = "tier_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "tier_bucket_force_destroy" {
  type        = bool
  description = "Let terraform destroy delete a tier bucket that still holds objects (tiered data is lost)."
  default     = false
}

variable "tier_prefix" {
  type        = string
  description = "Key prefix the gateway writes tiered objects under; the instance role may touch only these keys."
  default     = "tiergate/"

  validation {
    condition     = var.tier_prefix == "" || can(regex("^[A-Za-z0-9!_.*'()/-]+/$", var.tier_prefix))
    error_message = "tier_prefix must be empty or end with a slash and use safe S3 key characters."
  }
}

variable "tier_storage_class" {
  type        = string
  description = "S3 storage class of tiered objects (the tier definition's storageClass)."
  default     = "STANDARD_IA"
}

variable "tier_abort_incomplete_uploads_days" {
  type        = number
  description = "Days after which S3 aborts a multipart upload under the tier prefix that is still incomplete (left open by a gateway killed mid-transition); a backstop to the gateway's reconciler."
  default     = 7

  validation {
    condition     = var.tier_abort_incomplete_uploads_days >= 1 && var.tier_abort_incomplete_uploads_days <= 365 && floor(var.tier_abort_incomplete_uploads_days) == var.tier_abort_incomplete_uploads_days
    error_message = "tier_abort_incomplete_uploads_days must be a whole number of days from 1 to 365."
  }
}

variable "kms_deletion_window_days" {
  type        = number
  description = "Waiting period before a deleted KMS key is destroyed (data tiered under it is unreadable after)."
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be from 7 to 30."
  }
}
