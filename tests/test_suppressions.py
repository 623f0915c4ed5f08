"""Inline suppressions in Terraform comments and CloudFormation Metadata: a reason is
required, an expiry date ends them, and the configuration can forbid them."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_config, run_scan

TF = """\
# costbreaker:skip=CB101 capped by the organization's SCP
resource "aws_autoscaling_group" "above" {
  max_size = 500
}

resource "aws_autoscaling_group" "inside" {
  # costbreaker:skip=CB101 expires=2027-06-30 migration in flight
  max_size = 500
}

resource "aws_autoscaling_group" "expired" {
  max_size = 500 # costbreaker:skip=CB101 expires=2026-01-01 was temporary
}

resource "aws_autoscaling_group" "no_reason" {
  max_size = 500 # costbreaker:skip=CB101
}

resource "aws_autoscaling_group" "other_rule" {
  max_size = 500 # costbreaker:skip=CB102 not this rule
}
"""

CFN = """\
Resources:
  NoReason:
    Type: AWS::AutoScaling::AutoScalingGroup
    Metadata:
      costbreaker:
        skip:
          - id: CB101
    Properties: {MinSize: 1, MaxSize: 500}
  Skipped:
    Type: AWS::AutoScaling::AutoScalingGroup
    Metadata:
      costbreaker:
        skip:
          - {id: CB101, reason: reviewed, expires: 2027-01-01}
    Properties: {MinSize: 1, MaxSize: 500}
"""


def _status(result) -> dict[str, tuple[str, list[str]]]:
    return {
        f.resource: (f.suppression.kind if f.suppression else "open", f.notes)
        for f in result.findings
        if f.rule_id in ("CB101", "CB102")  # the rules these fixtures are written for
    }


def test_terraform_comment_suppressions(tmp_path: Path):
    (tmp_path / "main.tf").write_text(TF)
    status = _status(run_scan(tmp_path, root=tmp_path))
    assert status["aws_autoscaling_group.above"][0] == "inSource"
    assert status["aws_autoscaling_group.inside"][0] == "inSource"
    assert status["aws_autoscaling_group.expired"] == (
        "open",
        ["inline suppression at main.tf:12:20 expired on 2026-01-01"],
    )
    assert status["aws_autoscaling_group.no_reason"][0] == "open"
    assert "gives no reason" in status["aws_autoscaling_group.no_reason"][1][0]
    assert status["aws_autoscaling_group.other_rule"] == ("open", [])


def test_cloudformation_metadata_suppressions(tmp_path: Path):
    (tmp_path / "t.yaml").write_text(CFN)
    result = run_scan(tmp_path, root=tmp_path)
    status = _status(result)
    assert status["Skipped"][0] == "inSource"
    assert status["NoReason"][0] == "open" and "gives no reason" in status["NoReason"][1][0]
    suppressed = next(
        f for f in result.findings if f.rule_id == "CB101" and f.resource == "Skipped"
    )
    assert suppressed.suppression.reason == "reviewed"


def test_inline_suppressions_can_be_forbidden(tmp_path: Path):
    (tmp_path / "main.tf").write_text(TF)
    result = run_scan(tmp_path, root=tmp_path, config=make_config(allow_inline_suppressions=False))
    assert all(f.is_open for f in result.findings)
    assert any("allow_inline_suppressions is false" in n for f in result.findings for n in f.notes)
