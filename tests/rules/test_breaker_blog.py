"""The acceptance scenario of issue 4.

The breaker and billing alarm as they circulate in blog posts — a managed policy with
`Effect: 'Denies'`, a non-existent `autoscaling:ScaleOut`, a region condition and no
model-invocation actions, next to a five-minute EstimatedCharges alarm without the
Currency dimension whose topic has no subscription — must yield every applicable
finding of CB2xx/CB3xx, with messages a person understands at once; a fully guarded
stack must yield none. Both in CloudFormation and in Terraform (HCL and plan JSON).
"""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES, make_config, run_scan

BREAKER = FIXTURES / "breaker"
GUARDRAIL = make_config(scope={"guardrail_stack": True})
FAMILIES = ("CB105", "CB2", "CB3")


def ours(result) -> list[tuple[str, str, str, int]]:
    return sorted(
        (f.rule_id, f.resource, f.location.file, f.location.line)
        for f in result.findings
        if f.is_open and f.rule_id.startswith(FAMILIES)
    )


def messages(result) -> dict[str, str]:
    return {f.rule_id: f.message for f in result.findings if f.rule_id.startswith(FAMILIES)}


def test_blog_breaker_cloudformation() -> None:
    result = run_scan(BREAKER / "blog_breaker.yaml", config=GUARDRAIL)
    file = "breaker/blog_breaker.yaml"
    assert not result.errors
    assert ours(result) == [
        ("CB202", "CostBreakerPolicy", file, 15),  # Effect: 'Denies'
        ("CB203", "CostBreakerPolicy", file, 14),  # the statement covers nothing
        ("CB204", "CostBreakerPolicy", file, 24),  # aws:RequestedRegion
        ("CB205", "CostBreakerPolicy", file, 6),  # nothing attaches it
        ("CB302", "BillingAlarm", file, 32),  # MetricName without Currency, 300 s
        ("CB303", "BillingAlarm", file, 39),  # the topic has no subscription
    ]
    _assert_blog_messages(messages(result), "CostBreakerPolicy", "BillingTopic")


def test_blog_breaker_terraform() -> None:
    result = run_scan(BREAKER / "tf_blog", config=GUARDRAIL)
    file = "breaker/tf_blog/main.tf"
    assert not result.errors
    assert ours(result) == [
        ("CB202", "aws_iam_policy.cost_breaker", file, 16),
        ("CB203", "aws_iam_policy.cost_breaker", file, 15),
        ("CB204", "aws_iam_policy.cost_breaker", file, 26),
        ("CB205", "aws_iam_policy.cost_breaker", file, 8),
        ("CB302", "aws_cloudwatch_metric_alarm.billing", file, 38),
        ("CB303", "aws_cloudwatch_metric_alarm.billing", file, 44),
    ]
    _assert_blog_messages(messages(result), "aws_iam_policy.cost_breaker", "aws_sns_topic.billing")


def test_blog_breaker_terraform_plan() -> None:
    """The plan has a budget action applying the breaker (a nested reference in the plan's
    configuration), so CB205 and CB304 stay quiet; everything else is as in HCL."""
    result = run_scan(BREAKER / "plan/blog_plan.json", config=GUARDRAIL)
    file = "breaker/plan/blog_plan.json"
    assert not result.errors
    assert ours(result) == [
        ("CB202", "aws_iam_policy.cost_breaker", file, 8),
        ("CB203", "aws_iam_policy.cost_breaker", file, 8),
        ("CB204", "aws_iam_policy.cost_breaker", file, 8),
        ("CB302", "aws_cloudwatch_metric_alarm.billing", file, 84),
        ("CB303", "aws_cloudwatch_metric_alarm.billing", file, 84),
    ]


def _assert_blog_messages(found: dict[str, str], policy: str, topic: str) -> None:
    assert "Effect 'Denies'" in found["CB202"]
    assert "'Allow' or 'Deny'" in found["CB202"]
    assert "autoscaling:ScaleOut" in found["CB202"]
    assert "autoscaling:SetDesiredCapacity" in found["CB202"]  # what to use instead
    assert (
        f"Breaker policy {policy} does not deny 22 of the 22 actions in breaker.required_actions"
        in found["CB203"]
    )
    assert "model-invocation: bedrock:InvokeModel" in found["CB203"]
    assert "Effect 'Denies' instead of 'Deny' it denies nothing" in found["CB203"]
    assert "applies only to requests for us-east-1" in found["CB204"]
    assert "any other region is not stopped" in found["CB204"]
    assert "not wired to anything that can trip it" in found["CB205"]
    assert "no budget action applies it" in found["CB205"]
    assert "no Currency dimension" in found["CB302"]
    assert "period is 300 s (its description promises '5 minutes')" in found["CB302"]
    assert "TreatMissingData is not set" in found["CB302"]
    assert f"topic {topic}, which has no subscription in scope" in found["CB303"]


@pytest.mark.parametrize("path", ["guarded.yaml", "tf_guarded"])
def test_fully_guarded_stack_yields_nothing(path: str) -> None:
    result = run_scan(BREAKER / path, config=GUARDRAIL)
    assert not result.errors
    assert ours(result) == []


CUTS = {
    "guarded.yaml": {
        "budget action": ("  TripBreaker:", "  DetectorRole:"),
        "detector rule": ("  ModelCallRule:", "  BillingTopic:"),
        "topic subscription": ("    Properties:\n      Subscription:", "  BillingAlarm:"),
    },
    "tf_guarded": {
        "budget action": (
            'resource "aws_budgets_budget_action" "trip"',
            'resource "aws_iam_role" "detector"',
        ),
        "detector rule": (
            'resource "aws_cloudwatch_event_rule" "model_calls"',
            'resource "aws_sns_topic" "billing"',
        ),
        "topic subscription": (
            'resource "aws_sns_topic_subscription" "finops"',
            'resource "aws_cloudwatch_metric_alarm" "billing"',
        ),
    },
}


@pytest.mark.parametrize(
    ("cuts", "rules"),
    [
        (("budget action",), {"CB304"}),  # the detector still attaches the breaker
        (("budget action", "detector rule"), {"CB205", "CB304", "CB305"}),
        (("topic subscription",), {"CB303"}),
    ],
)
@pytest.mark.parametrize("path", ["guarded.yaml", "tf_guarded"])
def test_guarded_stack_depends_on_each_guard(path, cuts, rules, tmp_path) -> None:
    """The guarded stack is quiet because of its guards, not by accident: cut a guard and
    exactly the rules that depend on it fire."""
    source = BREAKER / path
    text = (source / "main.tf").read_text() if source.is_dir() else source.read_text()
    for cut in cuts:
        start_text, end_text = CUTS[path][cut]
        start, end = text.index(start_text), text.index(end_text)
        text = text[:start] + text[end:]
    if source.is_dir():
        target = tmp_path / "stack"
        target.mkdir()
        (target / "main.tf").write_text(text)
    else:
        target = tmp_path / "guarded.yaml"
        target.write_text(text)
    result = run_scan(target, config=GUARDRAIL, root=tmp_path)
    assert not result.errors
    assert {f.rule_id for f in result.findings if f.rule_id.startswith(FAMILIES)} == rules
