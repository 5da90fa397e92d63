# Provider and Terraform version ranges this module is tested with (terraform test needs 1.7+ for mock_provider;
# the module itself uses nothing newer than 1.5).
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40.0, < 6.0.0"
    }
  }
}
