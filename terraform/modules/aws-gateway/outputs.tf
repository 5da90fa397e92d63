# What the module hands on: where the gateways listen, the tier bucket and KMS key (the inputs of a tier
# definition), the network pieces for peering, and an Ansible inventory for ansible/site.yml.

locals {
  node_addresses = [for node in aws_instance.gateway : var.associate_public_ip ? node.public_ip : node.private_ip]

  inventory_nodes = [
    for i, node in aws_instance.gateway : {
      name    = format("%s-%02d", var.name, i)
      address = local.node_addresses[i]
      # The nodes reach each other (storage API, Redis) on their private addresses.
      private_address = node.private_ip
      drives = [
        for v in range(var.data_volume_count) : {
          # Nitro instances name EBS volumes nvme-Amazon_Elastic_Block_Store_vol<id without the dash>.
          device = "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${replace(aws_ebs_volume.data[format("%02d-%02d", i, v)].id, "-", "")}"
          path   = "/srv/tiergate/drive${v + 1}"
        }
      ]
    }
  ]
}

output "endpoints" {
  description = "S3 endpoint URL of each node (private addresses unless associate_public_ip)."
  value       = [for address in local.node_addresses : "http://${address}:${var.s3_port}"]
}

output "private_ips" {
  description = "Private IPv4 address of each node."
  value       = aws_instance.gateway[*].private_ip
}

output "public_ips" {
  description = "Public IPv4 address of each node (empty strings without associate_public_ip)."
  value       = aws_instance.gateway[*].public_ip
}

output "instance_ids" {
  description = "EC2 instance id of each node."
  value       = aws_instance.gateway[*].id
}

output "tier_bucket" {
  description = "Name of the S3 tier bucket."
  value       = module.tier.bucket
}

output "tier_bucket_arn" {
  description = "ARN of the S3 tier bucket."
  value       = module.tier.bucket_arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the tier bucket (and can seal the gateway's data keys)."
  value       = module.tier.kms_key_arn
}

output "kms_alias" {
  description = "Alias of the KMS key."
  value       = module.tier.kms_alias
}

output "iam_role_arn" {
  description = "ARN of the nodes' instance role."
  value       = aws_iam_role.gateway.arn
}

output "security_group_id" {
  description = "Security group of the nodes."
  value       = aws_security_group.gateway.id
}

output "vpc_id" {
  description = "VPC the nodes run in."
  value       = local.vpc_id
}

output "subnet_ids" {
  description = "Subnets the nodes are spread over."
  value       = local.subnet_ids
}

output "tier_definition" {
  description = "Body for PUT /tiergate/admin/v1/tiers (an Ansible tiergate_tiers entry); empty keys mean the instance role."
  value       = merge(module.tier.tier_definition, { accessKey = "", secretKey = "" })
}

output "ansible_inventory" {
  description = "Ansible inventory (YAML) for ansible/site.yml: every node in the tiergate group, the first in redis."
  value = templatefile("${path.module}/templates/inventory.yml.tftpl", {
    name          = var.name
    nodes         = local.inventory_nodes
    redis_address = aws_instance.gateway[0].private_ip
    ssh_user      = var.ami_os == "debian" ? "admin" : "ec2-user"
    s3_port       = var.s3_port
    storage_port  = var.storage_port
    region        = data.aws_region.current.name
    kms_key_arn   = module.tier.kms_key_arn
  })
}
