"""CB103 (Application Auto Scaling targets) on CloudFormation, Terraform HCL and a plan:
the exact resource and line of each finding, none on the good fixtures, and the
scheduled actions that lift a target's ceiling (CB102)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FIXTURES, hits, make_config, run_scan

SCALING = FIXTURES / "scaling"


def test_cloudformation_targets_without_a_ceiling_are_found_at_max_capacity():
    result = run_scan(SCALING / "cfn" / "cb103_bad.yaml")
    assert not result.errors
    file = "scaling/cfn/cb103_bad.yaml"
    assert hits(result, "CB103") == [
        ("CB103", "FromParameter", file, 23),
        ("CB103", "BoundTooHigh", file, 31),
        ("CB103", "LiteralTooHigh", file, 39),
        ("CB103", "BranchUnbounded", file, 47),
        ("CB103", "FromImport", file, 55),
    ]
    messages = {f.resource: f.message for f in result.findings if f.rule_id == "CB103"}
    assert "(ecs ecs:service:DesiredCount)" in messages["FromParameter"]
    assert "parameter MaxTasks has no MaxValue or AllowedValues" in messages["FromParameter"]
    assert "up to 300 (parameter TooMany has MaxValue 300)" in messages["BoundTooHigh"]
    assert "MaxCapacity is 4000, above the ceiling of 100" in messages["LiteralTooHigh"]
    assert "Fn::ImportValue" in messages["FromImport"]


def test_cloudformation_scheduled_actions_lift_a_targets_ceiling():
    result = run_scan(SCALING / "cfn" / "cb103_bad.yaml")
    file = "scaling/cfn/cb103_bad.yaml"
    assert hits(result, "CB102") == [
        ("CB102", "Lifted/business-hours", file, 69),
        ("CB102", "Lifted/launch-day", file, 73),
    ]
    by_resource = {f.resource: f.message for f in result.findings if f.rule_id == "CB102"}
    assert (
        "raises the maximum of target Lifted from 10 to 40" in by_resource["Lifted/business-hours"]
    )
    assert (
        "reach 250 capacity units, above the ceiling of 100 "
        "(ceilings.scalable_target_max_capacity)" in by_resource["Lifted/launch-day"]
    )


def test_cloudformation_good_targets_have_no_scaling_findings():
    result = run_scan(SCALING / "cfn" / "cb103_good.yaml")
    assert not result.errors
    assert [h for h in hits(result) if h[0].startswith("CB1")] == []


def test_terraform_targets_without_a_ceiling_are_found_at_max_capacity():
    result = run_scan(SCALING / "tf" / "cb103_bad")
    assert not result.errors
    file = "scaling/tf/cb103_bad/main.tf"
    assert hits(result, "CB103") == [
        ("CB103", "aws_appautoscaling_target.from_variable", file, 25),
        ("CB103", "aws_appautoscaling_target.bound_too_high", file, 33),
        ("CB103", "aws_appautoscaling_target.literal_too_high", file, 41),
        ("CB103", "aws_appautoscaling_target.branch_unbounded", file, 49),
    ]
    assert hits(result, "CB102") == [
        ("CB102", "aws_appautoscaling_scheduled_action.launch_day", file, 69),
    ]
    message = next(f.message for f in result.findings if f.resource.endswith("from_variable"))
    assert "variable max_tasks has no validation that bounds it (default 10)" in message


def test_terraform_good_targets_have_no_scaling_findings():
    result = run_scan(SCALING / "tf" / "cb103_good")
    assert not result.errors
    assert [h for h in hits(result) if h[0].startswith("CB1")] == []


def test_plan_target_over_the_ceiling():
    result = run_scan(SCALING / "plan" / "scaling_plan.json")
    assert not result.errors
    assert hits(result, "CB103") == [
        ("CB103", "aws_appautoscaling_target.agent", "scaling/plan/scaling_plan.json", 138)
    ]


def test_the_configured_ceiling_is_the_one_applied():
    lower = make_config(ceilings={"scalable_target_max_capacity": 10})
    flagged = {
        r for _, r, _, _ in hits(run_scan(SCALING / "cfn" / "cb103_good.yaml", config=lower))
    }
    # MaxValue 20 and the largest branch (60) and mapping entry (50) exceed 10;
    # AllowedValues [2, 4, 8] does not.
    assert {r for r in flagged if r != "scaling/cfn/cb103_good.yaml"} == {
        "ServiceScaling",
        "TableReads",
        "IndexReads",
    }
    higher = make_config(ceilings={"scalable_target_max_capacity": 5000})
    result = run_scan(SCALING / "cfn" / "cb103_bad.yaml", config=higher)
    assert {r for _, r, _, _ in hits(result, "CB103")} == {
        "FromParameter",
        "BranchUnbounded",
        "FromImport",
    }


CFN_TARGET = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  MaxTasks:
    Type: Number
{bound}Resources:
  Target:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties:
      ServiceNamespace: dynamodb
      ScalableDimension: dynamodb:table:ReadCapacityUnits
      ResourceId: table/t
      MinCapacity: 1
      MaxCapacity: !Ref MaxTasks
"""

TF_TARGET = """\
variable "max_tasks" {{
  type = number
{bound}}}

resource "aws_appautoscaling_target" "t" {{
  service_namespace  = "dynamodb"
  scalable_dimension = "dynamodb:table:ReadCapacityUnits"
  resource_id        = "table/t"
  min_capacity       = 1
  max_capacity       = var.max_tasks
}}
"""


@pytest.mark.parametrize(
    ("bound", "expected"),
    [
        ("", [("CB103", "Target", "t.yaml", 13)]),
        ("    MaxValue: 20\n", []),
        ("    AllowedValues: [5, 10]\n", []),
        # One line more in Parameters: MaxCapacity moves to line 14.
        ("    MaxValue: 500\n", [("CB103", "Target", "t.yaml", 14)]),
        ("    MinValue: 1\n", [("CB103", "Target", "t.yaml", 14)]),
    ],
)
def test_cloudformation_parameter_bound_turns_the_finding_off(
    tmp_path: Path, bound: str, expected: list
):
    (tmp_path / "t.yaml").write_text(CFN_TARGET.format(bound=bound))
    assert hits(run_scan(tmp_path / "t.yaml", root=tmp_path), "CB103") == expected


@pytest.mark.parametrize(
    ("bound", "expected"),
    [
        ("", [("CB103", "aws_appautoscaling_target.t", "main.tf", 10)]),
        (
            "  validation {\n    condition     = var.max_tasks <= 20\n"
            '    error_message = "At most 20."\n  }\n',
            [],
        ),
        (
            "  validation {\n    condition     = var.max_tasks >= 1\n"
            '    error_message = "At least 1."\n  }\n',
            [("CB103", "aws_appautoscaling_target.t", "main.tf", 14)],
        ),
    ],
)
def test_terraform_variable_validation_turns_the_finding_off(
    tmp_path: Path, bound: str, expected: list
):
    (tmp_path / "main.tf").write_text(TF_TARGET.format(bound=bound))
    assert hits(run_scan(tmp_path, root=tmp_path), "CB103") == expected
