# Provider and Terraform version ranges for this module. 1.252 is the first aliyun/alicloud release with the
# role_name / assume_role_policy_document arguments of alicloud_ram_role that the modules using this one need.
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    alicloud = {
      source  = "aliyun/alicloud"
      version = ">= 1.252.0, < 2.0.0"
    }
  }
}
