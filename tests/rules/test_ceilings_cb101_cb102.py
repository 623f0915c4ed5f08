"""CB101 and CB102 on CloudFormation, Terraform HCL and a Terraform plan: the exact
resource and line of each finding, and none on the good fixtures."""

from __future__ import annotations

from tests.conftest import FIXTURES, hits, make_config, run_scan

CORE = FIXTURES / "core"


def test_cloudformation_bad_groups_are_found_at_their_max_size_line():
    result = run_scan(CORE / "cfn" / "asg_bad.yaml")
    assert not result.errors
    assert hits(result, "CB101") == [
        ("CB101", "FromParameter", "core/cfn/asg_bad.yaml", 24),
        ("CB101", "FromBoundTooHigh", "core/cfn/asg_bad.yaml", 29),
        ("CB101", "LiteralTooHigh", "core/cfn/asg_bad.yaml", 34),
        ("CB101", "BranchUnbounded", "core/cfn/asg_bad.yaml", 39),
        ("CB101", "FromMapping", "core/cfn/asg_bad.yaml", 44),
        ("CB101", "FromImport", "core/cfn/asg_bad.yaml", 49),
    ]
    messages = {f.resource: f.message for f in result.findings if f.rule_id == "CB101"}
    assert (
        "parameter Unbounded has no MaxValue or AllowedValues (default 4)"
        in messages["FromParameter"]
    )
    assert "up to 80 (parameter TooHigh has MaxValue 80)" in messages["FromBoundTooHigh"]
    assert "largest entry of mapping Sizes" in messages["FromMapping"]
    assert "Fn::ImportValue" in messages["FromImport"]


def test_cloudformation_ceiling_lifts_are_found():
    result = run_scan(CORE / "cfn" / "asg_bad.yaml")
    assert hits(result, "CB102") == [
        ("CB102", "RaiseAtNine", "core/cfn/asg_bad.yaml", 59),
        ("CB102", "RaiseUnbounded", "core/cfn/asg_bad.yaml", 65),
        ("CB102", "BigPool", "core/cfn/asg_bad.yaml", 71),
        ("CB102", "Replaced", "core/cfn/asg_bad.yaml", 75),
    ]
    by_resource = {f.resource: f for f in result.findings if f.rule_id == "CB102"}
    assert "from 10 to 30" in by_resource["RaiseAtNine"].message
    assert "reach 80 instances" in by_resource["Replaced"].message  # two groups of 40


def test_cloudformation_good_template_has_no_ceiling_findings():
    result = run_scan(CORE / "cfn" / "asg_good.json")
    assert not result.errors
    assert hits(result, "CB101") == []
    assert hits(result, "CB102") == []


def test_a_lower_configured_ceiling_turns_bounded_groups_into_findings():
    result = run_scan(
        CORE / "cfn" / "asg_good.json", config=make_config(ceilings={"asg_max_size": 10})
    )
    flagged = {r for _, r, _, _ in hits(result, "CB101")}
    # MaxValue 20, the largest branch (30) and the largest mapping entry (40) exceed 10;
    # AllowedValues [2, 4, 8] does not.
    assert flagged == {"FromMaxValue", "FromBranches", "FromMapping", "Replaced"}


def test_terraform_hcl_bad_module():
    result = run_scan(CORE / "tf_bad")
    assert not result.errors
    assert hits(result, "CB101") == [
        ("CB101", "aws_autoscaling_group.from_variable", "core/tf_bad/main.tf", 20),
        ("CB101", "aws_autoscaling_group.bound_too_high", "core/tf_bad/main.tf", 25),
        ("CB101", "aws_autoscaling_group.from_local", "core/tf_bad/main.tf", 30),
        ("CB101", "aws_autoscaling_group.from_other_resource", "core/tf_bad/main.tf", 35),
    ]
    assert hits(result, "CB102") == [
        ("CB102", "aws_autoscaling_group.bounded", "core/tf_bad/main.tf", 43),
        ("CB102", "aws_autoscaling_schedule.raise", "core/tf_bad/main.tf", 50),
    ]
    message = next(
        f.message
        for f in result.findings
        if f.rule_id == "CB101" and f.resource.endswith("from_variable")
    )
    assert "variable unbounded has no validation that bounds it (default 4)" in message


def test_terraform_hcl_good_module_validation_bounds_the_variable():
    result = run_scan(CORE / "tf_good")
    assert not result.errors
    assert hits(result, "CB101") + hits(result, "CB102") == []


def test_terraform_plan_values_and_child_modules():
    result = run_scan(CORE / "plan" / "plan.json")
    assert not result.errors
    assert [h for h in hits(result) if h[0] in ("CB101", "CB102")] == [
        ("CB101", "aws_autoscaling_group.workers", "core/plan/plan.json", 8),
        ("CB102", "aws_autoscaling_schedule.peak", "core/plan/plan.json", 28),
        ("CB101", "module.agents.aws_autoscaling_group.this[0]", "core/plan/plan.json", 43),
    ]
    unknown = next(f for f in result.findings if f.resource.startswith("module.agents"))
    assert "known only after apply" in unknown.message
