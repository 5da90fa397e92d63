# aws-gateway: the AWS side of a tiergate site. This file holds the shared locals and the network (a VPC with one
# subnet per availability zone, or an existing VPC); security.tf, compute.tf and iam.tf (tier and role) hold the rest.

data "aws_region" "current" {}

data "aws_partition" "current" {}

data "aws_availability_zones" "available" {
  count = var.vpc_id == null && length(var.availability_zones) == 0 ? 1 : 0
  state = "available"
}

locals {
  create_vpc = var.vpc_id == null

  tags = merge(var.tags, {
    Module = "tiergate/aws-gateway"
  })

  azs = local.create_vpc ? (
    length(var.availability_zones) > 0 ? var.availability_zones : slice(data.aws_availability_zones.available[0].names, 0, var.az_count)
  ) : []

  vpc_id     = local.create_vpc ? aws_vpc.this[0].id : var.vpc_id
  subnet_ids = local.create_vpc ? aws_subnet.this[*].id : var.subnet_ids

  # Node i goes to subnet i mod n, so nodes spread evenly over the zones.
  node_subnet_ids = [for i in range(var.instance_count) : local.subnet_ids[i % length(local.subnet_ids)]]

  # Device names for the data volumes: /dev/sdf onwards (Nitro instances show them as NVMe devices whose
  # /dev/disk/by-id name carries the volume id, which is what the rendered inventory uses).
  device_letters = ["f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u"]

  data_volumes = {
    for pair in setproduct(range(var.instance_count), range(var.data_volume_count)) :
    format("%02d-%02d", pair[0], pair[1]) => { node = pair[0], index = pair[1] }
  }
}

resource "aws_vpc" "this" {
  count = local.create_vpc ? 1 : 0

  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(local.tags, { Name = "${var.name}-vpc" })

  lifecycle {
    precondition {
      condition     = length(var.subnet_ids) == 0
      error_message = "subnet_ids is only used together with vpc_id."
    }
  }
}

resource "aws_subnet" "this" {
  count = local.create_vpc ? length(local.azs) : 0

  vpc_id            = aws_vpc.this[0].id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 24 - tonumber(split("/", var.vpc_cidr)[1]), count.index)

  tags = merge(local.tags, { Name = "${var.name}-${local.azs[count.index]}" })
}

resource "aws_internet_gateway" "this" {
  count = local.create_vpc ? 1 : 0

  vpc_id = aws_vpc.this[0].id
  tags   = merge(local.tags, { Name = "${var.name}-igw" })
}

resource "aws_route_table" "this" {
  count = local.create_vpc ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this[0].id
  }

  tags = merge(local.tags, { Name = "${var.name}-rt" })
}

resource "aws_route_table_association" "this" {
  count = local.create_vpc ? length(local.azs) : 0

  subnet_id      = aws_subnet.this[count.index].id
  route_table_id = aws_route_table.this[0].id
}

# Tier traffic to S3 stays inside AWS (no NAT or internet charges) through a gateway endpoint.
resource "aws_vpc_endpoint" "s3" {
  count = local.create_vpc ? 1 : 0

  vpc_id            = aws_vpc.this[0].id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.this[0].id]

  tags = merge(local.tags, { Name = "${var.name}-s3" })
}
