"""CB105: Lambda functions that can invoke models or launch compute (judged by their
role's permissions within the scope) without reserved concurrency."""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES, hits, run_scan
from tests.rules.guard_markers import expected

LAMBDA = FIXTURES / "lambda"


@pytest.mark.parametrize(
    "path", ["cfn/cb105_bad.yaml", "cfn/cb105_good.yaml", "tf/cb105_bad", "tf/cb105_good"]
)
def test_cb105_on_fixture(path: str) -> None:
    target = LAMBDA / path
    want = expected(target, "CB105")
    assert bool(want) == ("_bad" in path)
    result = run_scan(target)
    assert not result.errors
    assert sorted(hits(result, "CB105")) == want


def test_cb105_says_what_the_function_can_do_and_why() -> None:
    result = run_scan(LAMBDA / "cfn/cb105_bad.yaml")
    messages = {f.resource: f.message for f in result.findings if f.rule_id == "CB105"}
    assert (
        "can invoke models (bedrock:InvokeModel) through role AgentRole" in (messages["PlainAgent"])
    )
    assert "(policy AgentModels)" in messages["PlainAgent"]
    assert "ReservedConcurrentExecutions is not set" in messages["PlainAgent"]
    assert (
        "launch compute (ec2:RunInstances) through its SAM-generated role" in (messages["Launcher"])
    )
    assert "AWS managed policy AmazonBedrockFullAccess" in messages["BedrockAgent"]
    assert "SAM policy template EcsRunTaskPolicy" in messages["TaskRunner"]
    tf = run_scan(LAMBDA / "tf/cb105_bad")
    unreserved = [f for f in tf.findings if f.resource == "aws_lambda_function.unreserved"]
    assert "reserved_concurrent_executions is -1 (unreserved)" in unreserved[0].message


def test_cb105_on_a_plan() -> None:
    """In a plan the role is known only after apply: the reference comes from the plan's
    configuration section, the policy from the role policy's planned JSON."""
    result = run_scan(LAMBDA / "plan/cb105_plan.json")
    assert not result.errors
    assert hits(result, "CB105") == [
        ("CB105", "aws_lambda_function.agent", "lambda/plan/cb105_plan.json", 34)
    ]
