# The gateway nodes: N EC2 instances spread over the subnets (IMDSv2 only, encrypted root volume), each with M gp3
# data volumes, and an optional placement group.

locals {
  ami_lookup = {
    debian = {
      owners = ["136693071363"] # Debian's official AWS account
      name   = "debian-12-${var.ami_architecture == "x86_64" ? "amd64" : "arm64"}-*"
    }
    amazon-linux = {
      owners = ["amazon"]
      name   = "al2023-ami-2023.*-${var.ami_architecture}"
    }
  }
  ami_id = var.ami_id != null ? var.ami_id : data.aws_ami.os[0].id
}

data "aws_ami" "os" {
  count = var.ami_id == null ? 1 : 0

  most_recent = true
  owners      = local.ami_lookup[var.ami_os].owners

  filter {
    name   = "name"
    values = [local.ami_lookup[var.ami_os].name]
  }

  filter {
    name   = "architecture"
    values = [var.ami_architecture]
  }

  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

resource "aws_placement_group" "this" {
  count = var.placement_group_strategy == null ? 0 : 1

  name            = "${var.name}-gateway"
  strategy        = var.placement_group_strategy
  partition_count = var.placement_group_strategy == "partition" ? min(var.instance_count, 7) : null

  tags = local.tags
}

resource "aws_instance" "gateway" {
  count = var.instance_count

  ami                         = local.ami_id
  instance_type               = var.instance_type
  subnet_id                   = local.node_subnet_ids[count.index]
  vpc_security_group_ids      = [aws_security_group.gateway.id]
  iam_instance_profile        = aws_iam_instance_profile.gateway.name
  key_name                    = var.key_name
  associate_public_ip_address = var.associate_public_ip
  placement_group             = var.placement_group_strategy == null ? null : aws_placement_group.this[0].id

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = var.root_volume_size_gib
    encrypted   = true
    tags        = merge(local.tags, { Name = format("%s-%02d-root", var.name, count.index) })
  }

  tags = merge(local.tags, { Name = format("%s-%02d", var.name, count.index) })

  lifecycle {
    ignore_changes = [ami]
  }
}

resource "aws_ebs_volume" "data" {
  for_each = local.data_volumes

  availability_zone = aws_instance.gateway[each.value.node].availability_zone
  type              = "gp3"
  size              = var.data_volume_size_gib
  iops              = var.data_volume_iops
  throughput        = var.data_volume_throughput
  encrypted         = true

  tags = merge(local.tags, { Name = "${var.name}-${each.key}-data" })
}

resource "aws_volume_attachment" "data" {
  for_each = local.data_volumes

  device_name = "/dev/sd${local.device_letters[each.value.index]}"
  volume_id   = aws_ebs_volume.data[each.key].id
  instance_id = aws_instance.gateway[each.value.node].id
}
