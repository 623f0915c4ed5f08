"""The IAM policy model: action validation against cfn-lint's data (and the allowlist),
wildcards, NotAction, coverage and effective permissions."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from costbreaker import iam
from costbreaker.config import Config
from costbreaker.guards import GuardIndex, Policy, Role
from costbreaker.inventory import Inventory, Location
from tests.conftest import FIXTURES, hits, run_scan

WHERE = Location("policy.json", 1, 1, "P")


def document(*statements: dict) -> iam.Document:
    return iam.parse_document({"Statement": list(statements)}, iam.Source(WHERE))


@pytest.mark.parametrize(
    "action",
    [
        "ec2:RunInstances",
        "EC2:runinstances",  # service and action compare case-insensitively
        "ec2:Run*",
        "bedrock:InvokeModel*",
        "s3:*Object*",
        "*",
        "*:Describe*",
        "e?2:RunInstances",
        "sagemaker:InvokeEndpointWithResponseStream",
    ],
)
def test_valid_actions(action: str) -> None:
    assert iam.action_problem(action) is None


@pytest.mark.parametrize(
    ("action", "says"),
    [
        ("autoscaling:ScaleOut", "scale-out goes through autoscaling:SetDesiredCapacity"),
        ("bedrock:Converse", "bedrock:InvokeModel governs the Converse API"),
        ("bedrock:ConverseStream", "InvokeModelWithResponseStream governs the ConverseStream"),
        ("ec2:Launch*", "matches no real IAM action"),
        ("bedrok:InvokeModel", "did you mean 'bedrock'"),
        ("ec2:RunInstance", "did you mean 'ec2:RunInstances'"),
        ("s3:ReplicationTags", "did you mean 's3:ReplicateTags'"),
        ("RunInstances", "not of the form service:action"),
        ("ec2: RunInstances", "stray whitespace"),
        ("ec2:", "no action name"),
    ],
)
def test_invalid_actions(action: str, says: str) -> None:
    problem = iam.action_problem(action)
    assert problem is not None and says in problem


@pytest.mark.parametrize("entry", sorted(iam.ALLOWLIST))
def test_allowlist_entry_is_accepted_and_still_needed(entry: str) -> None:
    """Each allowlisted action validates, and cfn-lint's own data still lacks it (when a
    cfn-lint upgrade adds it, this fails: remove the entry)."""
    service, name = entry.split(":", 1)
    assert iam.action_problem(f"{service}:{name}") is None
    assert iam.expand(f"{service}:{name[:3]}*") >= {entry}
    raw = json.loads(
        resources.files("cfnlint.data.AdditionalSpecs").joinpath("Policies.json").read_text()
    )
    assert name not in {a.lower() for a in raw.get(service, {}).get("Actions", {})}
    assert iam.ALLOWLIST[entry].strip()


def test_allowlist_entries_are_the_aws_mcp_server_actions() -> None:
    assert iam.action_problem("aws-mcp:CallReadWriteTool") is None
    assert iam.action_problem("aws-mcp:InvokeMcp") is None
    assert iam.action_problem("aws-mcp:CallReadOnlyTool") is None
    assert iam.action_problem("aws-mcp:DeleteEverything") is not None


def test_action_data_loads_only_when_a_policy_exists() -> None:
    iam._DATA = None
    iam.action_problem.cache_clear()
    iam.expand.cache_clear()
    run_scan(FIXTURES / "billing" / "cfn" / "cb302_good.yaml")
    assert iam._DATA is None
    run_scan(FIXTURES / "breaker" / "cfn" / "cb202_bad.yaml")
    assert iam._DATA is not None


def test_not_action_names_everything_else() -> None:
    (statement,) = document(
        {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*"}
    ).statements
    assert statement.names("ec2:RunInstances")
    assert statement.names("bedrock:InvokeModel")
    assert not statement.names("iam:AttachRolePolicy")
    assert statement.naming_entry("ec2:RunInstances") is None


def test_wildcards_and_case() -> None:
    (statement,) = document(
        {"Effect": "Deny", "Action": ["EC2:Run*", "bedrock:invoke?odel"], "Resource": "*"}
    ).statements
    assert statement.names("ec2:RunInstances")
    assert statement.names("bedrock:InvokeModel")
    assert not statement.names("bedrock:InvokeModelWithResponseStream")
    assert not statement.names("ec2:CreateFleet")


def test_effects_are_exact() -> None:
    statements = document(
        {"Effect": "Deny", "Action": "*"},
        {"Effect": "deny", "Action": "*"},
        {"Effect": "Denies", "Action": "*"},
        {"Effect": "Allow", "Action": "*"},
    ).statements
    assert [s.is_deny for s in statements] == [True, False, False, False]
    assert [s.intends_deny for s in statements] == [True, True, True, False]


def test_unresolved_action_names_nothing() -> None:
    statements = document(
        {"Effect": "Deny", "Action": [{"Fn::Sub": "${S}:RunInstances"}], "Resource": "*"},
        {"Effect": "Deny", "NotAction": [{"Ref": "X"}], "Resource": "*"},
    ).statements
    assert not statements[0].names("ec2:RunInstances")
    assert statements[0].actions[0].text is None
    assert not statements[1].names("ec2:RunInstances")  # NotAction of an unknown: no claim


def test_resource_scope() -> None:
    statements = document(
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "arn:aws:*:*:*:*"},
        {"Effect": "Deny", "Action": "*", "Resource": "arn:aws:bedrock:*::foundation-model/x"},
        {"Effect": "Deny", "Action": "*", "NotResource": "*"},
    ).statements
    assert [s.all_resources for s in statements] == [True, True, False, False]


def test_json_text_keeps_lines() -> None:
    text = (
        '{\n  "Statement": [\n    {\n      "Effect": "Deny",\n      "Action": [\n'
        '        "ec2:RunInstances",\n        "bedrock:InvokeModel"\n      ]\n    }\n  ]\n}\n'
    )
    doc = iam.parse_text(text, WHERE, first_line=10)
    (statement,) = doc.statements
    assert statement.effect_location.line == 13
    assert [e.location.line for e in statement.actions] == [15, 16]


def _index(*facts) -> GuardIndex:
    inventory = Inventory()
    for fact in facts:
        inventory.add(fact)
    return GuardIndex(inventory, Config().required_actions)


def _common(address: str) -> dict:
    return {
        "address": address,
        "type": "test",
        "location": Location("t.yaml", 1, 1, address),
        "scope": "t.yaml",
        "source": "cloudformation",
    }


LAMBDA_TRUST = document(
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:*"}
)


def test_grants_deny_wins() -> None:
    role = Role(**_common("R"), trust=LAMBDA_TRUST)
    allow = Policy(
        **_common("R"),
        policy_kind="inline",
        owner="R",
        document=document({"Effect": "Allow", "Action": ["bedrock:*", "ec2:*"], "Resource": "*"}),
    )
    deny = Policy(
        **_common("R"),
        policy_kind="inline",
        owner="R",
        document=document({"Effect": "Deny", "Action": "ec2:*", "Resource": "*"}),
    )
    grants = _index(role, allow, deny).grants(role)
    assert "bedrock:InvokeModel" in grants
    assert "ec2:RunInstances" not in grants
    assert grants["bedrock:InvokeModel"].explicit


def test_admin_grant_is_not_explicit() -> None:
    role = Role(**_common("R"), trust=LAMBDA_TRUST)
    admin = Policy(
        **_common("R"),
        policy_kind="inline",
        owner="R",
        document=document({"Effect": "Allow", "Action": "*", "Resource": "*"}),
    )
    grants = _index(role, admin).grants(role)
    assert "ec2:RunInstances" in grants
    assert grants["ec2:RunInstances"].explicit is False


def test_conditional_deny_does_not_remove_a_grant() -> None:
    role = Role(**_common("R"), trust=LAMBDA_TRUST)
    policy = Policy(
        **_common("R"),
        policy_kind="inline",
        owner="R",
        document=document(
            {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "bedrock:InvokeModel",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
            },
        ),
    )
    assert "bedrock:InvokeModel" in _index(role, policy).grants(role)


@pytest.mark.parametrize(
    ("principal", "runs_code"),
    [
        ({"Service": "lambda.amazonaws.com"}, True),
        ({"Service": ["events.amazonaws.com", "ecs-tasks.amazonaws.com"]}, True),
        ({"Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"}, True),
        ({"Service": "application-autoscaling.amazonaws.com"}, False),
        ({"AWS": "arn:aws:iam::123456789012:root"}, False),
    ],
)
def test_runs_code(principal: dict, runs_code: bool) -> None:
    trust = document({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
    role = Role(**_common("R"), trust=trust)
    assert _index(role).runs_code(role) is runs_code


def test_action_data_decodes_services_on_demand_and_agrees_with_the_whole_file() -> None:
    text = resources.files("cfnlint.data.AdditionalSpecs").joinpath("Policies.json").read_text()
    lazy = iam.ActionData(text)
    whole = iam.ActionData(json.dumps(json.loads(text)))  # one line: no index, decoded whole
    assert not lazy.actions  # nothing decoded yet
    assert lazy.names("ec2") == whole.names("ec2")
    assert set(lazy.actions) == {"ec2"}
    assert sorted(lazy.services()) == sorted(whole.services())
    assert (
        lazy.names("aws-mcp")
        == whole.names("aws-mcp")
        == {
            "invokemcp",
            "callreadonlytool",
            "callreadwritetool",
        }
    )
    assert lazy.names("no-such-service") == frozenset()


def test_a_policy_may_name_its_role_by_role_name(tmp_path) -> None:
    template = tmp_path / "byname.yaml"
    template.write_text(
        """AWSTemplateFormatVersion: '2010-09-09'
Resources:
  AgentRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: agent-role
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
  ByName:
    Type: AWS::IAM::RolePolicy
    Properties:
      RoleName: agent-role
      PolicyName: models
      PolicyDocument:
        Statement:
          - {Effect: Allow, Action: bedrock:InvokeModel, Resource: '*'}
"""
    )
    result = run_scan(template, root=tmp_path)
    assert hits(result, "CB201") == [("CB201", "AgentRole", "byname.yaml", 3)]
