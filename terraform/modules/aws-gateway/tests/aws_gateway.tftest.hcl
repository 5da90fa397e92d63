# terraform test for the aws-gateway module on a mocked AWS provider (no credentials, no network): the plan's
# shape (nodes, volumes, zones), the security rules, the instance role and its exact actions, the inventory, and
# the validations that must reject bad input. The bucket and key themselves are tested in ../aws-tier.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
  mock_data "aws_ami" {
    defaults = { id = "ami-0123456789abcdef0" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { id = "tg-tier-0001", arn = "arn:aws:s3:::tg-tier-0001" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:111122223333:key/0d6a7c9e-0000-4000-8000-000000000001", key_id = "0d6a7c9e-0000-4000-8000-000000000001" }
  }
  mock_resource "aws_ebs_volume" {
    defaults = { id = "vol-0123456789abcdef0" }
  }
  mock_resource "aws_instance" {
    defaults = { private_ip = "10.40.0.10", public_ip = "" }
  }
}

variables {
  name          = "tg"
  allowed_cidrs = ["192.0.2.0/24", "198.51.100.0/24"]
  tags          = { Environment = "test" }
}

run "defaults_build_a_spread_cluster" {
  command = apply

  assert {
    condition     = length(aws_instance.gateway) == 4 && length(aws_ebs_volume.data) == 16 && length(aws_volume_attachment.data) == 16
    error_message = "Expected 4 nodes with 4 data volumes each."
  }
  assert {
    condition     = length(aws_subnet.this) == 2 && aws_subnet.this[0].availability_zone != aws_subnet.this[1].availability_zone
    error_message = "Expected one subnet in each of two availability zones."
  }
  assert {
    condition     = aws_instance.gateway[0].subnet_id == aws_subnet.this[0].id && aws_instance.gateway[1].subnet_id == aws_subnet.this[1].id && aws_instance.gateway[2].subnet_id == aws_subnet.this[0].id
    error_message = "Nodes must alternate between the subnets."
  }
  assert {
    condition     = alltrue([for v in aws_ebs_volume.data : v.type == "gp3" && v.encrypted])
    error_message = "Data volumes must be encrypted gp3."
  }
  assert {
    condition     = aws_instance.gateway[0].instance_type == "i4i.xlarge" && aws_instance.gateway[0].metadata_options[0].http_tokens == "required"
    error_message = "Nodes must be storage-optimized and IMDSv2-only by default."
  }
  assert {
    condition     = length(aws_placement_group.this) == 0
    error_message = "No placement group unless asked for."
  }
}

run "security_group_rules" {
  command = apply

  assert {
    condition     = toset([for r in aws_vpc_security_group_ingress_rule.s3 : r.cidr_ipv4]) == toset(var.allowed_cidrs) && alltrue([for r in aws_vpc_security_group_ingress_rule.s3 : r.from_port == 9000 && r.to_port == 9000])
    error_message = "The S3 port must be open to exactly allowed_cidrs."
  }
  assert {
    condition     = alltrue([for r in aws_vpc_security_group_ingress_rule.internode : r.referenced_security_group_id == aws_security_group.gateway.id && r.cidr_ipv4 == null])
    error_message = "Inter-node ports must be open only to the group itself."
  }
  assert {
    condition     = toset(keys(aws_vpc_security_group_ingress_rule.internode)) == toset(["9100", "6379"])
    error_message = "The storage API and Redis ports must be open between the nodes, and nothing else."
  }
  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.ssh) == 0
    error_message = "SSH must be closed by default."
  }
}

run "instance_role_carries_exactly_the_tier_policy" {
  command = apply

  assert {
    condition     = aws_iam_role_policy.gateway.policy == module.tier.access_policy_json
    error_message = "The instance role must carry the tier's access policy."
  }
  assert {
    condition     = toset(flatten([for s in jsondecode(aws_iam_role_policy.gateway.policy).Statement : s.Action])) == toset(["s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:RestoreObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"])
    error_message = "The role must be granted exactly the actions the gateway uses."
  }
  assert {
    condition     = jsondecode(aws_iam_role.gateway.assume_role_policy).Statement[0].Principal.Service == "ec2.amazonaws.com"
    error_message = "Only EC2 may assume the role."
  }
  assert {
    condition     = aws_iam_instance_profile.gateway.role == aws_iam_role.gateway.name && aws_instance.gateway[0].iam_instance_profile == aws_iam_instance_profile.gateway.name
    error_message = "Nodes must run with the instance profile."
  }
  assert {
    condition     = aws_instance.gateway[0].tags["Environment"] == "test" && aws_instance.gateway[0].tags["Module"] == "tiergate/aws-gateway" && aws_instance.gateway[0].tags["Name"] == "tg-00" && aws_security_group.gateway.tags["Environment"] == "test"
    error_message = "Resources must carry the caller's and the module's tags."
  }
}

run "outputs_and_inventory" {
  command = apply

  assert {
    condition     = output.endpoints[0] == "http://10.40.0.10:9000" && output.tier_bucket == "tg-tier-0001"
    error_message = "Endpoints and tier bucket outputs are wrong."
  }
  assert {
    condition     = output.tier_definition.type == "s3" && output.tier_definition.region == "eu-west-1" && output.tier_definition.endpoint == "https://s3.eu-west-1.amazonaws.com"
    error_message = "The tier definition must describe the tier bucket."
  }
  assert {
    condition     = length(yamldecode(output.ansible_inventory).all.children.tiergate.hosts) == 4 && keys(yamldecode(output.ansible_inventory).all.children.redis.hosts) == ["tg-00"]
    error_message = "The inventory must list every node and the first node as Redis."
  }
  assert {
    condition     = yamldecode(output.ansible_inventory).all.children.tiergate.hosts["tg-01"].tiergate_drive_devices[3].device == "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0"
    error_message = "Drive devices must be named by EBS volume id."
  }
  assert {
    condition     = yamldecode(output.ansible_inventory).all.vars.tiergate_kms_key_id == output.kms_key_arn && yamldecode(output.ansible_inventory).all.vars.tiergate_redis_url == "redis://:{{ redis_password }}@10.40.0.10:6379/0"
    error_message = "The inventory must point the gateway's KMS at the tier key and Redis at the first node."
  }
  assert {
    condition     = yamldecode(output.ansible_inventory).all.vars.tiergate_cluster_group == "tiergate" && yamldecode(output.ansible_inventory).all.vars.tiergate_storage_port == 9100 && yamldecode(output.ansible_inventory).all.children.tiergate.hosts["tg-01"].tiergate_node_address == aws_instance.gateway[1].private_ip
    error_message = "The inventory must make the nodes one cluster, reaching each other on their private addresses."
  }
}

run "existing_vpc_and_options" {
  command = apply

  variables {
    vpc_id                   = "vpc-0123456789abcdef0"
    subnet_ids               = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1", "subnet-0123456789abcdef2"]
    instance_count           = 3
    data_volume_count        = 2
    ssh_allowed_cidrs        = ["203.0.113.7/32"]
    placement_group_strategy = "spread"
  }

  assert {
    condition     = length(aws_vpc.this) == 0 && length(aws_subnet.this) == 0 && aws_security_group.gateway.vpc_id == "vpc-0123456789abcdef0"
    error_message = "An existing VPC must be used as is."
  }
  assert {
    condition     = tolist([for i in aws_instance.gateway : i.subnet_id]) == var.subnet_ids
    error_message = "Nodes must spread over the given subnets."
  }
  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.ssh) == 1 && length(aws_ebs_volume.data) == 6 && aws_placement_group.this[0].strategy == "spread"
    error_message = "SSH rule, volume count or placement group wrong."
  }
}

run "rejects_bad_input" {
  command = plan

  variables {
    name                               = "Bad_Name"
    allowed_cidrs                      = ["not-a-cidr"]
    data_volume_count                  = 1
    tier_abort_incomplete_uploads_days = 1.5
  }

  expect_failures = [var.name, var.allowed_cidrs, var.data_volume_count, var.tier_abort_incomplete_uploads_days]
}
