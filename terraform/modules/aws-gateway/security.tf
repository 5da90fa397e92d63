# Security group of the gateway nodes: the S3 port from allowed_cidrs only, the inter-node ports only from the
# group itself (node to node), SSH only when ssh_allowed_cidrs is set, and all egress (packages, S3, KMS).

resource "aws_security_group" "gateway" {
  name_prefix = "${var.name}-gateway-"
  description = "tiergate gateway nodes"
  vpc_id      = local.vpc_id

  tags = merge(local.tags, { Name = "${var.name}-gateway" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "s3" {
  for_each = toset(var.allowed_cidrs)

  security_group_id = aws_security_group.gateway.id
  description       = "S3 API from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = var.s3_port
  to_port           = var.s3_port
  cidr_ipv4         = each.value

  tags = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "internode" {
  for_each = toset([for p in concat([var.storage_port], var.internode_ports) : tostring(p)])

  security_group_id            = aws_security_group.gateway.id
  description                  = "node to node on ${each.value}"
  ip_protocol                  = "tcp"
  from_port                    = tonumber(each.value)
  to_port                      = tonumber(each.value)
  referenced_security_group_id = aws_security_group.gateway.id

  tags = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "ssh" {
  for_each = toset(var.ssh_allowed_cidrs)

  security_group_id = aws_security_group.gateway.id
  description       = "SSH from ${each.value}"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = each.value

  tags = local.tags
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.gateway.id
  description       = "all egress (packages, S3, KMS)"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"

  tags = local.tags
}
