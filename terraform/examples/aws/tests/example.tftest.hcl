# terraform test for the AWS example on a mocked AWS provider: the example wires the module as documented and
# its outputs are what docs/deploy-aws.md feeds to Ansible.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b"] }
  }
  mock_data "aws_ami" {
    defaults = { id = "ami-0123456789abcdef0" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { id = "tiergate-tier-0001", arn = "arn:aws:s3:::tiergate-tier-0001" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:111122223333:key/0d6a7c9e-0000-4000-8000-000000000001" }
  }
  mock_resource "aws_instance" {
    defaults = { private_ip = "10.40.0.10", public_ip = "203.0.113.10" }
  }
  mock_resource "aws_ebs_volume" {
    defaults = { id = "vol-0123456789abcdef0" }
  }
}

variables {
  allowed_cidrs     = ["198.51.100.0/24"]
  ssh_allowed_cidrs = ["198.51.100.7/32"]
}

run "example_outputs_feed_ansible" {
  command = apply

  assert {
    condition     = output.endpoints == ["http://203.0.113.10:9000", "http://203.0.113.10:9000"]
    error_message = "Two public endpoints on port 9000 expected."
  }
  assert {
    condition     = output.tier_bucket == "tiergate-tier-0001" && output.tier_definition.bucket == output.tier_bucket && output.tier_definition.type == "s3"
    error_message = "The tier definition must name the tier bucket."
  }
  assert {
    condition     = yamldecode(output.ansible_inventory).all.vars.ansible_user == "admin" && length(yamldecode(output.ansible_inventory).all.children.tiergate.hosts["tiergate-00"].tiergate_drives) == 4
    error_message = "The inventory must describe Debian nodes with four drives."
  }
}

run "rejects_a_bad_region" {
  command = plan

  variables {
    region = "Europe"
  }

  expect_failures = [var.region]
}
