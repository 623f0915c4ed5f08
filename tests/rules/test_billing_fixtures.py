"""CB301–CB305 on good and bad fixtures, CloudFormation and Terraform: every finding of a
rule must be on the resource and line its fixture marks, and no other finding of that rule
may appear."""

from __future__ import annotations

import pytest

from costbreaker.config import Config
from costbreaker.engine import evaluate, select_rules
from costbreaker.guards import Topic
from costbreaker.inventory import Inventory, Location
from tests.conftest import FIXTURES, hits, make_config, run_scan
from tests.rules.guard_markers import assert_marked_findings

BILLING = FIXTURES / "billing"
GUARDRAIL = make_config(scope={"guardrail_stack": True})

CASES = [
    (rule, path)
    for rule in ("CB301", "CB302", "CB303", "CB304", "CB305")
    for path in (
        f"cfn/{rule.lower()}_bad.yaml",
        f"cfn/{rule.lower()}_good.yaml",
        f"tf/{rule.lower()}_bad",
        f"tf/{rule.lower()}_good",
    )
]


@pytest.mark.parametrize(("rule", "path"), CASES, ids=[f"{r}-{p}" for r, p in CASES])
def test_rule_on_fixture(rule: str, path: str) -> None:
    assert_marked_findings(BILLING / path, rule, config=GUARDRAIL)


def test_cb301_needs_a_guardrail_stack_for_iac() -> None:
    assert hits(run_scan(BILLING / "cfn/cb301_bad.yaml"), "CB301") == []
    assert hits(run_scan(BILLING / "tf/cb301_bad"), "CB301") == []


def test_cb301_always_applies_to_an_account() -> None:
    inventory = Inventory()
    where = Location(address="arn:aws:sns:us-east-1:123456789012:alerts", account="1234")
    inventory.add(
        Topic(
            address=where.address,
            type="AWS::SNS::Topic",
            location=where,
            scope="123456789012",
            source="account",
        )
    )
    result = evaluate(inventory, Config(), select_rules(["CB301"]))
    assert [(f.rule_id, f.resource) for f in result.findings] == [("CB301", "123456789012")]
    assert "The account 123456789012 has no billing guard" in result.findings[0].message


def test_cb302_lists_every_problem_of_an_alarm() -> None:
    result = run_scan(BILLING / "cfn/cb302_bad.yaml")
    messages = {f.resource: f.message for f in result.findings if f.rule_id == "CB302"}
    assert "no Currency dimension" in messages["NoCurrency"]
    assert "period is 3600 s" in messages["HourlyPeriod"]
    assert "21600 s (6 h)" in messages["HourlyPeriod"]
    assert "period is 300 s" in messages["MathAlarm"]
    assert "notBreaching" in messages["PromisesMinutes"]
    assert "'minutes'" in messages["PromisesMinutes"]
    assert "TreatMissingData is not set" in messages["ImplicitMissingData"]
    assert (
        "EstimatedCharge, but the billing metric is EstimatedCharges"
        in (messages["MisspeltMetric"])
    )
    tf = run_scan(BILLING / "tf/cb302_bad")
    region = [f for f in tf.findings if f.resource == "aws_cloudwatch_metric_alarm.eu"]
    assert "deployed in eu-west-1, but EstimatedCharges exists only in us-east-1" in (
        region[0].message
    )


def test_cb305_says_whether_billing_guards_exist() -> None:
    result = run_scan(BILLING / "cfn/cb305_bad.yaml")
    (finding,) = [f for f in result.findings if f.rule_id == "CB305"]
    assert "not even a billing signal guards it" in finding.message
    assert "bedrock:InvokeModel" in finding.message


def test_cb302_region_of_a_plan_alarm() -> None:
    """A plan's planned values carry no region: it comes from the provider configuration
    the alarm uses (`configuration.provider_config[provider_config_key]`), a constant or a
    root variable's planned value. A region only known after apply stays unknown, as an
    HCL provider without a static region does."""
    result = run_scan(BILLING / "plan/cb302_plan.json")
    assert not result.errors
    file = "billing/plan/cb302_plan.json"
    assert hits(result, "CB302") == [
        ("CB302", "aws_cloudwatch_metric_alarm.eu", file, 481),
        ("CB302", "aws_cloudwatch_metric_alarm.by_variable", file, 514),
    ]
    messages = {f.resource: f.message for f in result.findings if f.rule_id == "CB302"}
    hcl = run_scan(BILLING / "tf/cb302_bad")
    hcl_message = next(
        f.message for f in hcl.findings if f.resource == "aws_cloudwatch_metric_alarm.eu"
    )
    assert messages["aws_cloudwatch_metric_alarm.eu"] == hcl_message
    assert (
        "deployed in ap-southeast-2, but EstimatedCharges exists only in us-east-1"
        in (messages["aws_cloudwatch_metric_alarm.by_variable"])
    )
