# What the module hands on: where the gateways listen, the OSS tier bucket and KMS key (the inputs of a tier
# definition), and an Ansible inventory for ansible/site.yml.

locals {
  node_addresses = [for node in alicloud_instance.gateway : var.internet_max_bandwidth_out > 0 ? node.public_ip : node.private_ip]

  # ECS attaches data disks as /dev/vdb, /dev/vdc, ... in attachment order; /dev/disk/by-id names carry the disk id
  # (virtio-<id without "d-">), which stays right whatever the order.
  inventory_nodes = [
    for i, node in alicloud_instance.gateway : {
      name    = format("%s-%02d", var.name, i)
      address = local.node_addresses[i]
      # The nodes reach each other (storage API, Redis) on their private addresses.
      private_address = node.private_ip
      drives = [
        for d in range(var.data_disk_count) : {
          device = "/dev/disk/by-id/virtio-${trimprefix(alicloud_ecs_disk.data[format("%02d-%02d", i, d)].id, "d-")}"
          path   = "/srv/tiergate/drive${d + 1}"
        }
      ]
    }
  ]
}

output "endpoints" {
  description = "S3 endpoint URL of each node (private addresses unless the nodes have public bandwidth)."
  value       = [for address in local.node_addresses : "http://${address}:${var.s3_port}"]
}

output "private_ips" {
  description = "Private IPv4 address of each node."
  value       = alicloud_instance.gateway[*].private_ip
}

output "public_ips" {
  description = "Public IPv4 address of each node (empty without internet_max_bandwidth_out)."
  value       = alicloud_instance.gateway[*].public_ip
}

output "instance_ids" {
  description = "ECS instance id of each node."
  value       = alicloud_instance.gateway[*].id
}

output "tier_bucket" {
  description = "Name of the OSS tier bucket."
  value       = module.tier.bucket
}

output "kms_key_id" {
  description = "Id of the KMS key that encrypts the tier bucket (and can seal the gateway's data keys)."
  value       = module.tier.kms_key_id
}

output "kms_alias" {
  description = "Alias of the KMS key."
  value       = module.tier.kms_alias
}

output "ram_role_name" {
  description = "RAM role the nodes run as."
  value       = alicloud_ram_role.gateway.role_name
}

output "security_group_id" {
  description = "Security group of the nodes."
  value       = alicloud_security_group.gateway.id
}

output "vpc_id" {
  description = "VPC the nodes run in."
  value       = alicloud_vpc.this.id
}

output "tier_definition" {
  description = "Body for PUT /tiergate/admin/v1/tiers (an Ansible tiergate_tiers entry); empty keys mean the RAM role."
  value       = merge(module.tier.tier_definition, { accessKey = "", secretKey = "" })
}

output "ansible_inventory" {
  description = "Ansible inventory (YAML) for ansible/site.yml: every node in the tiergate group, the first in redis."
  value = templatefile("${path.module}/templates/inventory.yml.tftpl", {
    name          = var.name
    nodes         = local.inventory_nodes
    redis_address = alicloud_instance.gateway[0].private_ip
    ssh_user      = "root"
    s3_port       = var.s3_port
    storage_port  = var.storage_port
    region        = local.region
    kms_key_id    = module.tier.kms_key_id
  })
}
