# The gateway nodes: N ECS instances spread over the two vSwitches, running as the RAM role, each with M encrypted
# ESSD data disks.

data "alicloud_images" "os" {
  owners      = "system"
  name_regex  = var.image_name_regex
  most_recent = true
}

resource "alicloud_instance" "gateway" {
  count = var.instance_count

  instance_name              = format("%s-%02d", var.name, count.index)
  host_name                  = format("%s-%02d", var.name, count.index)
  image_id                   = data.alicloud_images.os.images[0].id
  instance_type              = var.instance_type
  vswitch_id                 = alicloud_vswitch.this[local.node_zone_index[count.index]].id
  security_groups            = [alicloud_security_group.gateway.id]
  role_name                  = alicloud_ram_role.gateway.role_name
  key_name                   = var.key_name
  internet_max_bandwidth_out = var.internet_max_bandwidth_out
  system_disk_category       = "cloud_essd"
  system_disk_size           = var.system_disk_size_gib
  system_disk_encrypted      = true
  tags                       = merge(local.tags, { Name = format("%s-%02d", var.name, count.index) })

  lifecycle {
    ignore_changes = [image_id]
  }
}

resource "alicloud_ecs_disk" "data" {
  for_each = local.data_disks

  disk_name         = "${var.name}-${each.key}-data"
  zone_id           = local.zone_ids[local.node_zone_index[each.value.node]]
  category          = "cloud_essd"
  performance_level = var.data_disk_performance_level
  size              = var.data_disk_size_gib
  encrypted         = true
  tags              = local.tags
}

resource "alicloud_ecs_disk_attachment" "data" {
  for_each = local.data_disks

  disk_id     = alicloud_ecs_disk.data[each.key].id
  instance_id = alicloud_instance.gateway[each.value.node].id
}
