# alicloud-gateway: the Alibaba Cloud side of a tiergate site. This file holds the shared locals, the network (a
# VPC with a vSwitch in each of two zones) and the security group; compute.tf and ram.tf (tier and role) hold the rest.

data "alicloud_regions" "current" {
  current = true
}

data "alicloud_zones" "available" {
  count = length(var.zone_ids) == 0 ? 1 : 0

  available_disk_category     = "cloud_essd"
  available_instance_type     = var.instance_type
  available_resource_creation = "VSwitch"
}

locals {
  tags     = merge(var.tags, { Module = "tiergate/alicloud-gateway" })
  region   = data.alicloud_regions.current.regions[0].id
  zone_ids = length(var.zone_ids) > 0 ? var.zone_ids : slice(data.alicloud_zones.available[0].ids, 0, 2)

  # Node i goes to vSwitch i mod 2, so nodes spread evenly over the two zones.
  node_zone_index = [for i in range(var.instance_count) : i % 2]

  data_disks = {
    for pair in setproduct(range(var.instance_count), range(var.data_disk_count)) :
    format("%02d-%02d", pair[0], pair[1]) => { node = pair[0], index = pair[1] }
  }
}

resource "alicloud_vpc" "this" {
  vpc_name   = "${var.name}-vpc"
  cidr_block = var.vpc_cidr
  tags       = local.tags
}

resource "alicloud_vswitch" "this" {
  count = 2

  vswitch_name = "${var.name}-${local.zone_ids[count.index]}"
  vpc_id       = alicloud_vpc.this.id
  zone_id      = local.zone_ids[count.index]
  cidr_block   = cidrsubnet(var.vpc_cidr, 24 - tonumber(split("/", var.vpc_cidr)[1]), count.index)
  tags         = local.tags
}

# Security group: the S3 port from allowed_cidrs only, the inter-node ports only from the group itself, SSH only
# when ssh_allowed_cidrs is set. Egress stays open (packages, OSS, KMS).
resource "alicloud_security_group" "gateway" {
  security_group_name = "${var.name}-gateway"
  description         = "tiergate gateway nodes"
  vpc_id              = alicloud_vpc.this.id
  tags                = local.tags
}

resource "alicloud_security_group_rule" "s3" {
  for_each = toset(var.allowed_cidrs)

  security_group_id = alicloud_security_group.gateway.id
  description       = "S3 API from ${each.value}"
  type              = "ingress"
  ip_protocol       = "tcp"
  nic_type          = "intranet"
  policy            = "accept"
  priority          = 1
  port_range        = "${var.s3_port}/${var.s3_port}"
  cidr_ip           = each.value
}

resource "alicloud_security_group_rule" "internode" {
  for_each = toset([for p in concat([var.storage_port], var.internode_ports) : tostring(p)])

  security_group_id        = alicloud_security_group.gateway.id
  description              = "node to node on ${each.value}"
  type                     = "ingress"
  ip_protocol              = "tcp"
  nic_type                 = "intranet"
  policy                   = "accept"
  priority                 = 1
  port_range               = "${each.value}/${each.value}"
  source_security_group_id = alicloud_security_group.gateway.id
}

resource "alicloud_security_group_rule" "ssh" {
  for_each = toset(var.ssh_allowed_cidrs)

  security_group_id = alicloud_security_group.gateway.id
  description       = "SSH from ${each.value}"
  type              = "ingress"
  ip_protocol       = "tcp"
  nic_type          = "intranet"
  policy            = "accept"
  priority          = 1
  port_range        = "22/22"
  cidr_ip           = each.value
}
