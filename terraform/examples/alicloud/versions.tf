# Provider and Terraform version ranges for the Alibaba Cloud example (a root module, so it configures the provider).
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    alicloud = {
      source  = "aliyun/alicloud"
      version = ">= 1.252.0, < 2.0.0"
    }
  }
}
