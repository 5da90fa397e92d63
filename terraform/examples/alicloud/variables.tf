# Inputs of the Alibaba Cloud example: where to deploy, who may reach the gateways, and the tier bucket's name.

variable "region" {
  type        = string
  description = "Alibaba Cloud region to deploy into."
  default     = "eu-central-1"

  validation {
    condition     = can(regex("^[a-z]{2}-[a-z0-9-]+$", var.region))
    error_message = "region must look like eu-central-1 or cn-hangzhou."
  }
}

variable "name" {
  type        = string
  description = "Name prefix for every resource."
  default     = "tiergate"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name))
    error_message = "name must be 2-24 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "tier_bucket_name" {
  type        = string
  description = "Globally unique name of the OSS tier bucket."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.tier_bucket_name))
    error_message = "tier_bucket_name must be 3-63 lowercase letters, digits or hyphens."
  }
}

variable "allowed_cidrs" {
  type        = list(string)
  description = "IPv4 CIDRs of the S3 clients allowed to reach the gateways."

  validation {
    condition     = length(var.allowed_cidrs) > 0 && alltrue([for c in var.allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "allowed_cidrs must hold at least one IPv4 CIDR."
  }
}

variable "ssh_allowed_cidrs" {
  type        = list(string)
  description = "IPv4 CIDRs allowed to SSH in (where Ansible runs); empty opens no SSH port."
  default     = []

  validation {
    condition     = alltrue([for c in var.ssh_allowed_cidrs : can(cidrhost(c, 0))])
    error_message = "ssh_allowed_cidrs must hold IPv4 CIDRs."
  }
}

variable "key_name" {
  type        = string
  description = "Existing ECS key pair for SSH; null launches without one."
  default     = null
}

variable "instance_count" {
  type        = number
  description = "Number of gateway nodes."
  default     = 2

  validation {
    condition     = var.instance_count >= 1 && var.instance_count <= 32
    error_message = "instance_count must be from 1 to 32."
  }
}

variable "internet_max_bandwidth_out" {
  type        = number
  description = "Public bandwidth per node in Mbit/s (0: no public address)."
  default     = 10

  validation {
    condition     = var.internet_max_bandwidth_out >= 0 && var.internet_max_bandwidth_out <= 100
    error_message = "internet_max_bandwidth_out must be from 0 to 100."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource."
  default     = { Project = "tiergate" }
}
