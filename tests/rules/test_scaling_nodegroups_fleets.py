"""CB104 (EKS node groups, EC2 Fleet and Spot Fleet target capacities, Terraform
instance counts) on CloudFormation, Terraform HCL and a plan: exact resource and line,
none on the good fixtures, and bounds that turn a finding off."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FIXTURES, hits, make_config, run_scan

SCALING = FIXTURES / "scaling"


def test_cloudformation_node_groups_and_fleets_without_a_ceiling():
    result = run_scan(SCALING / "cfn" / "cb104_bad.yaml")
    assert not result.errors
    file = "scaling/cfn/cb104_bad.yaml"
    assert hits(result, "CB104") == [
        ("CB104", "FromParameter", file, 21),
        ("CB104", "TooHigh", file, 31),
        ("CB104", "NoScalingConfig", file, 34),  # where ScalingConfig belongs: Properties
        ("CB104", "BigFleet", file, 44),
        ("CB104", "OpenSpotFleet", file, 56),
        ("CB104", "VcpuFleet", file, 66),
    ]
    messages = {f.resource: f.message for f in result.findings if f.rule_id == "CB104"}
    assert "parameter Nodes has no MaxValue or AllowedValues" in messages["FromParameter"]
    assert "ScalingConfig.MaxSize is 80, above the ceiling of 50" in messages["TooHigh"]
    assert "EKS's default" in messages["NoScalingConfig"]
    assert "TotalTargetCapacity is 500, above the ceiling of 100" in messages["BigFleet"]
    # 960 vCPUs with weights 4 and 8: up to 960 / 4 = 240 instances.
    assert "960 vCPUs can take up to 240 instances" in messages["VcpuFleet"]


def test_cloudformation_good_node_groups_and_fleets_have_no_scaling_findings():
    result = run_scan(SCALING / "cfn" / "cb104_good.yaml")
    assert not result.errors
    assert [h for h in hits(result) if h[0].startswith("CB1")] == []


def test_terraform_node_groups_fleets_and_counts_without_a_ceiling():
    result = run_scan(SCALING / "tf" / "cb104_bad")
    assert not result.errors
    file = "scaling/tf/cb104_bad/main.tf"
    assert hits(result, "CB104") == [
        ("CB104", "aws_eks_node_group.from_variable", file, 34),
        ("CB104", "aws_eks_node_group.too_high", file, 46),
        ("CB104", "aws_ec2_fleet.big", file, 65),
        ("CB104", "aws_spot_fleet_request.open", file, 71),
        ("CB104", "aws_instance.workers", file, 80),
        ("CB104", "aws_instance.per_agent", file, 86),
        ("CB104", "aws_instance.per_subnet", file, 92),
        ("CB104", "aws_instance.too_many", file, 99),
    ]
    messages = {f.resource: f.message for f in result.findings if f.rule_id == "CB104"}
    assert "count is not a finite ceiling: variable workers" in messages["aws_instance.workers"]
    assert "for_each is not a finite ceiling" in messages["aws_instance.per_agent"]
    assert "length(var.subnet_ids) <= 10" in messages["aws_instance.per_subnet"]
    assert "count is 150, above the ceiling of 100" in messages["aws_instance.too_many"]


def test_terraform_good_module_bounds_every_count():
    result = run_scan(SCALING / "tf" / "cb104_good")
    assert not result.errors
    assert [h for h in hits(result) if h[0].startswith("CB1")] == []


def test_terraform_counts_are_the_number_of_copies():
    from costbreaker.inventory import Instances

    result = run_scan(SCALING / "tf" / "cb104_good")
    copies = {f.address: (f.counted, f.copies.number()) for f in result.inventory.of(Instances)}
    assert copies == {
        "aws_instance.workers": ("count", 5),  # validation: var.workers <= 5
        "aws_instance.per_agent": ("for_each", 3),  # validation: length(var.agents) <= 3
        "aws_instance.optional": ("count", 2),  # var.enabled ? 2 : 0
        "aws_instance.named": ("for_each", 2),  # toset(["planner", "critic"])
    }


def test_plan_node_group_over_the_ceiling():
    result = run_scan(SCALING / "plan" / "scaling_plan.json")
    assert hits(result, "CB104") == [
        ("CB104", "aws_eks_node_group.gpu", "scaling/plan/scaling_plan.json", 78)
    ]


def test_the_configured_ceilings_are_the_ones_applied():
    config = make_config(ceilings={"nodegroup_max_size": 100, "fleet_target_capacity": 1000})
    result = run_scan(SCALING / "cfn" / "cb104_bad.yaml", config=config)
    # Only the unbounded ones remain: literal 80, 500 and 240 instances are now within.
    assert {r for _, r, _, _ in hits(result, "CB104")} == {
        "FromParameter",
        "NoScalingConfig",
        "OpenSpotFleet",
    }
    strict = make_config(ceilings={"nodegroup_max_size": 2, "fleet_target_capacity": 4})
    result = run_scan(SCALING / "tf" / "cb104_good", config=strict)
    assert {r for _, r, _, _ in hits(result, "CB104")} == {
        "aws_eks_node_group.gpu",  # up to 20
        "aws_eks_node_group.from_template",  # 4
        "aws_ec2_fleet.fleet",  # 50
        "aws_instance.workers",  # up to 5
    }


CFN_NODES = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Nodes:
    Type: Number
{bound}Resources:
  Nodes:
    Type: AWS::EKS::Nodegroup
    Properties:
      ClusterName: c
      NodeRole: arn:aws:iam::123456789012:role/node
      Subnets: [subnet-1]
      ScalingConfig:
        MinSize: 1
        DesiredSize: 1
        MaxSize: !Ref Nodes
"""

TF_COUNT = """\
variable "names" {{
  type = list(string)
{bound}}}

resource "aws_instance" "agent" {{
  count         = length(var.names)
  ami           = "ami-12345678"
  instance_type = "t3.micro"
}}
"""


@pytest.mark.parametrize(
    ("bound", "line"),
    [("", 15), ("    MaxValue: 10\n", None), ("    MaxValue: 90\n", 16)],
)
def test_cloudformation_node_group_parameter_bound(tmp_path: Path, bound: str, line: int | None):
    (tmp_path / "n.yaml").write_text(CFN_NODES.format(bound=bound))
    expected = [("CB104", "Nodes", "n.yaml", line)] if line else []
    assert hits(run_scan(tmp_path / "n.yaml", root=tmp_path), "CB104") == expected


@pytest.mark.parametrize(
    ("bound", "line"),
    [
        ("", 6),
        (
            "  validation {\n    condition     = length(var.names) <= 4\n"
            '    error_message = "At most 4."\n  }\n',
            None,
        ),
        (
            "  validation {\n    condition     = length(var.names) > 0\n"
            '    error_message = "At least one."\n  }\n',
            10,
        ),
    ],
)
def test_terraform_length_validation_bounds_a_count(tmp_path: Path, bound: str, line: int | None):
    (tmp_path / "main.tf").write_text(TF_COUNT.format(bound=bound))
    expected = [("CB104", "aws_instance.agent", "main.tf", line)] if line else []
    assert hits(run_scan(tmp_path, root=tmp_path), "CB104") == expected
