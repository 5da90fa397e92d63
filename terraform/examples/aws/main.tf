# Example: a tiergate site on AWS. Two EC2 nodes with four gp3 data volumes each in a new VPC, the S3 tier bucket
# and KMS key, and an instance role. `terraform output -raw ansible_inventory` feeds ansible/site.yml
# (docs/deploy-aws.md walks through it).

provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

module "gateway" {
  source = "../../modules/aws-gateway"

  name                = var.name
  tags                = var.tags
  instance_count      = var.instance_count
  instance_type       = var.instance_type
  allowed_cidrs       = var.allowed_cidrs
  ssh_allowed_cidrs   = var.ssh_allowed_cidrs
  key_name            = var.key_name
  associate_public_ip = var.associate_public_ip
}
