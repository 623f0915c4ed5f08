"""CB201–CB206 on good and bad fixtures, CloudFormation and Terraform: every finding of a
rule must be on the resource and line its fixture marks (`# expect: CB20x Resource`), and
no other finding of that rule may appear."""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES, hits, run_scan
from tests.rules.guard_markers import assert_marked_findings

BREAKER = FIXTURES / "breaker"

CASES = [
    (rule, path)
    for rule in ("CB201", "CB202", "CB203", "CB204", "CB205", "CB206")
    for path in (
        f"cfn/{rule.lower()}_bad.yaml",
        f"cfn/{rule.lower()}_good.yaml",
        f"tf/{rule.lower()}_bad",
        f"tf/{rule.lower()}_good",
    )
] + [("CB201", "cfn/cb201_none.yaml")]


@pytest.mark.parametrize(("rule", "path"), CASES, ids=[f"{r}-{p}" for r, p in CASES])
def test_rule_on_fixture(rule: str, path: str) -> None:
    assert_marked_findings(BREAKER / path, rule)


def test_cb202_names_each_mistake() -> None:
    result = run_scan(BREAKER / "cfn/cb202_bad.yaml")
    messages = {f.resource: f.message for f in result.findings if f.rule_id == "CB202"}
    assert "Effect 'deny'" in messages["LowercaseDeny"]
    assert "case-sensitive" in messages["LowercaseDeny"]
    assert "'bedrock:Converse' is not an IAM action" in messages["ConversePolicy"]
    assert "bedrock:InvokeModel governs the Converse API" in messages["ConversePolicy"]
    assert "'ec2:Launch*' matches no real IAM action" in messages["ConversePolicy"]
    assert "2 invalid parts" in messages["ConversePolicy"]
    assert "there is no IAM service prefix 'dynamo'" in messages["WorkerRole"]
    assert "did you mean 'dynamodb'" in messages["WorkerRole"]
    assert "so it grants nothing" in messages["WorkerRole"]
    assert "has no Effect" in messages["NoEffect"]


def test_cb202_points_into_heredoc_and_policy_document() -> None:
    result = run_scan(BREAKER / "tf/cb202_bad")
    by_resource = {f.resource: f for f in result.findings if f.rule_id == "CB202"}
    assert "Effect 'DENY'" in by_resource["aws_iam_policy.heredoc"].message
    assert "sagemaker:InvokeEndpoint" in by_resource["aws_iam_role.worker"].message


def test_cb203_names_missing_actions_by_category() -> None:
    result = run_scan(BREAKER / "cfn/cb203_bad.yaml")
    (finding,) = [f for f in result.findings if f.rule_id == "CB203"]
    assert "does not deny 6 of the 22 actions in breaker.required_actions" in finding.message
    assert "model-invocation: bedrock:InvokeModel, bedrock:InvokeModelWithResponseStream" in (
        finding.message
    )
    assert "sagemaker:InvokeEndpointAsync" in finding.message
    assert "provisioning" not in finding.message
    assert finding.evidence["missing"] == {
        "model-invocation": [
            "bedrock:InvokeModel",
            "bedrock:InvokeModelWithResponseStream",
            "bedrock:InvokeAgent",
            "bedrock:InvokeFlow",
            "sagemaker:InvokeEndpoint",
            "sagemaker:InvokeEndpointAsync",
        ]
    }


def test_cb203_follows_the_configured_action_set() -> None:
    from tests.conftest import make_config

    config = make_config(breaker={"required_actions": ["ec2:RunInstances", "bedrock:Invoke*"]})
    result = run_scan(BREAKER / "cfn/cb203_bad.yaml", config=config)
    (finding,) = [f for f in result.findings if f.rule_id == "CB203"]
    assert "does not deny 1 of the 2 actions" in finding.message
    assert "bedrock:Invoke*" in finding.message
    # A wildcard entry is covered only when every action it stands for is denied.
    covered = run_scan(BREAKER / "cfn/cb203_good.yaml", config=config)
    assert not hits(covered, "CB203")


def test_cb204_explains_each_weakness() -> None:
    result = run_scan(BREAKER / "cfn/cb204_bad.yaml")
    messages = {f.resource: f.message for f in result.findings if f.rule_id == "CB204"}
    assert "applies only to requests for us-east-1" in messages["OneRegionBreaker"]
    assert "autoScalingGroupName/web" in messages["SomeResourcesBreaker"]
    assert "foundation-model/anthropic.*" in messages["SomeResourcesBreaker"]
    assert "aws:MultiFactorAuthPresent" in messages["MfaBreaker"]
    tf = run_scan(BREAKER / "tf/cb204_bad")
    (finding,) = [f for f in tf.findings if f.rule_id == "CB204"]
    assert "requests for eu-west-1 are not denied" in finding.message


def test_cb205_mentions_the_function_nothing_invokes() -> None:
    result = run_scan(BREAKER / "cfn/cb205_bad.yaml")
    (finding,) = [f for f in result.findings if f.rule_id == "CB205"]
    assert "function Tripper could attach it, but nothing invokes it" in finding.message


def test_cb206_lists_the_writes_it_would_cut() -> None:
    result = run_scan(BREAKER / "cfn/cb206_bad.yaml")
    messages = {f.resource: f.message for f in result.findings if f.rule_id == "CB206"}
    assert "denies every action ('*')" in messages["DenyEverything"]
    assert "dynamodb:PutItem, s3:PutObject" in messages["WritesToo"]
    assert "drain" in messages["WritesToo"]
