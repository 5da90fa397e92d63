# Inputs of the AWS example: where to deploy, who may reach the gateways, and how big the site is.

variable "region" {
  type        = string
  description = "AWS region to deploy into."
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like eu-west-1."
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
  description = "Existing EC2 key pair for SSH; null launches without one."
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

variable "instance_type" {
  type        = string
  description = "EC2 instance type of the nodes."
  default     = "i4i.xlarge"
}

variable "associate_public_ip" {
  type        = bool
  description = "Give the nodes public addresses (for Ansible and clients outside the VPC)."
  default     = true
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (also set as the provider's default tags)."
  default     = { Project = "tiergate" }
}
