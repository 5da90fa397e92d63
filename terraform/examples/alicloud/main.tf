# Example: a tiergate site on Alibaba Cloud. Two ECS nodes with four ESSD data disks each in a new VPC, the OSS
# tier bucket and KMS key, and a RAM role. `terraform output -raw ansible_inventory` feeds ansible/site.yml
# (docs/deploy-alibaba.md walks through it).

provider "alicloud" {
  region = var.region
}

module "gateway" {
  source = "../../modules/alicloud-gateway"

  name                       = var.name
  tags                       = var.tags
  instance_count             = var.instance_count
  allowed_cidrs              = var.allowed_cidrs
  ssh_allowed_cidrs          = var.ssh_allowed_cidrs
  key_name                   = var.key_name
  internet_max_bandwidth_out = var.internet_max_bandwidth_out
  tier_bucket_name           = var.tier_bucket_name
}
