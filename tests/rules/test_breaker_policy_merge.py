"""A breaker built from `aws_iam_policy_document` source and override documents is read
with the statements Terraform puts into its `json`: source documents first, then the
document's own statements, then each override in order, a statement with the Sid of an
earlier one replacing it in place. A document whose parts cannot all be read is unknown,
never complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from costbreaker.guards import Policy
from tests.conftest import FIXTURES, hits, run_scan
from tests.rules.guard_markers import assert_marked_findings

TF = FIXTURES / "breaker" / "tf"
RULES = ("CB201", "CB202", "CB203", "CB204", "CB206")
CASES = [
    (rule, name) for rule in RULES for name in ("policy_doc_merge_bad", "policy_doc_merge_good")
]


@pytest.mark.parametrize(("rule", "name"), CASES, ids=[f"{r}-{n}" for r, n in CASES])
def test_rule_on_merged_documents(rule: str, name: str) -> None:
    if rule == "CB201" and name.endswith("_bad"):
        # The bad module has a (bad) breaker, so CB201 has nothing to mark there.
        assert hits(run_scan(TF / name), rule) == []
        return
    assert_marked_findings(TF / name, rule)


def _policy(result, address: str) -> Policy:
    (fact,) = [f for f in result.inventory.of(Policy) if f.address == address]
    return fact


def test_override_replaces_a_source_statement_in_place() -> None:
    result = run_scan(TF / "policy_doc_merge_good")
    merged = _policy(result, "data.aws_iam_policy_document.breaker")
    assert merged.document is not None
    assert [(s.sid, s.location.line) for s in merged.document.statements] == [
        ("StopCompute", 23),  # from the source document, where it is written
        ("StopModels", 60),  # the override's, not the source's region-limited one (41)
    ]
    assert merged.borrowed == frozenset({0})
    assert hits(result, "CB201") == []


def test_later_override_wins_and_missing_actions_come_from_the_merge() -> None:
    result = run_scan(TF / "policy_doc_merge_bad")
    merged = _policy(result, "data.aws_iam_policy_document.breaker")
    assert merged.document is not None
    assert [s.sid for s in merged.document.statements] == [
        "Provisioning",
        "Typo",
        "ScaleOut",
        "Models",
        "Writes",
    ]
    (finding,) = [f for f in result.findings if f.rule_id == "CB203"]
    missing = finding.evidence["missing"]
    assert "provisioning" not in missing and "scale-out" not in missing
    assert "eks:CreateCluster" in missing["clusters"]
    # The first override denied InvokeAgent and InvokeFlow; the second replaced it.
    assert "bedrock:InvokeAgent" in missing["model-invocation"]
    assert "bedrock:InvokeModel" not in missing["model-invocation"]
    (weak,) = [f for f in result.findings if f.rule_id == "CB204"]
    assert "aws:RequestedRegion" in weak.message


def test_cb202_reports_a_borrowed_statement_once() -> None:
    result = run_scan(TF / "policy_doc_merge_bad")
    scale_out = [h for h in hits(result, "CB202") if h[3] == 38]
    assert scale_out == [
        (
            "CB202",
            "data.aws_iam_policy_document.base",
            "breaker/tf/policy_doc_merge_bad/main.tf",
            38,
        )
    ]


def test_unresolvable_source_makes_the_document_unknown() -> None:
    result = run_scan(TF / "policy_doc_merge_bad")
    elsewhere = _policy(result, "data.aws_iam_policy_document.elsewhere")
    assert elsewhere.document is None
    assert "data.aws_iam_policy_document.shared" in elsewhere.unresolved
    assert "not declared in this module" in elsewhere.unresolved
    assert elsewhere.partial is not None and len(elsewhere.partial.statements) == 1
    flagged = {f.resource for f in result.findings if f.rule_id in ("CB203", "CB204", "CB206")}
    assert "aws_iam_policy.elsewhere" not in flagged


MODULE = """
resource "aws_iam_role" "agent" {
  name = "agent"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "bedrock" {
  role       = aws_iam_role.agent.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonBedrockFullAccess"
}

data "aws_iam_policy_document" "breaker" {
  %s
  statement {
    effect    = "Deny"
    actions   = ["ec2:RunInstances", "autoscaling:*", "bedrock:InvokeModel*"]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "breaker" {
  name   = "cost-breaker"
  policy = data.aws_iam_policy_document.breaker.json
}
"""


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('source_policy_documents = [file("${path.module}/base.json")]', "file() is read"),
        ("override_policy_documents = var.overrides", "variable overrides"),
        (
            "source_policy_documents = [data.aws_iam_policy_document.breaker.json]",
            "refers back to itself",
        ),
    ],
    ids=["file", "variable", "itself"],
)
def test_unknown_parts_are_never_complete(tmp_path: Path, line: str, why: str) -> None:
    """A breaker with an unreadable part is no breaker as far as the scan can tell: the
    workload is reported (CB201), not taken as protected."""
    (tmp_path / "main.tf").write_text(MODULE % line, encoding="utf-8")
    result = run_scan(tmp_path, root=tmp_path)
    assert not result.errors
    merged = _policy(result, "data.aws_iam_policy_document.breaker")
    assert merged.document is None
    assert why in merged.unresolved
    assert [h[:2] for h in hits(result, "CB201")] == [("CB201", "aws_iam_role.agent")]
    assert hits(result, "CB203") == []
