"""CB106 (the ceiling tag is missing or disagrees with the real maximum) on
CloudFormation and Terraform, for Auto Scaling groups and EKS node groups."""

from __future__ import annotations

from tests.conftest import FIXTURES, hits, make_config, run_scan

SCALING = FIXTURES / "scaling"


def test_cloudformation_missing_and_disagreeing_tags():
    result = run_scan(SCALING / "cfn" / "cb106_bad.yaml")
    assert not result.errors
    file = "scaling/cfn/cb106_bad.yaml"
    assert hits(result, "CB106") == [
        ("CB106", "NoTag", file, 15),  # the resource: there is no tag to point at
        ("CB106", "Disagrees", file, 33),  # the tag's Value
        ("CB106", "NotANumber", file, 43),
        ("CB106", "FromOtherParameter", file, 53),
        ("CB106", "NodesNoTag", file, 55),
        ("CB106", "NodesDisagree", file, 76),
    ]
    messages = {f.resource: f.message for f in result.findings if f.rule_id == "CB106"}
    assert "has no 'costbreaker:max-size' tag" in messages["NoTag"]
    assert "(MaxSize is 10)" in messages["NoTag"]
    assert "says 20, but the maximum is 10" in messages["Disagrees"]
    assert "is 'ten', not a number" in messages["NotANumber"]
    assert "cannot be checked" in messages["FromOtherParameter"]
    assert "parameter Other" in messages["FromOtherParameter"]
    assert "says 5, but the maximum is 8" in messages["NodesDisagree"]
    assert all(f.severity == "low" for f in result.findings if f.rule_id == "CB106")


def test_cloudformation_tags_that_state_the_real_maximum_pass():
    # A literal equal to MaxSize, the same parameter as MaxSize, and tags computed by a
    # condition (which may hold the tag: not reported) are all fine.
    result = run_scan(SCALING / "cfn" / "cb106_good.yaml")
    assert not result.errors
    assert [h for h in hits(result) if h[0].startswith("CB1")] == []


def test_terraform_missing_and_disagreeing_tags():
    result = run_scan(SCALING / "tf" / "cb106_bad")
    assert not result.errors
    file = "scaling/tf/cb106_bad/main.tf"
    assert hits(result, "CB106") == [
        ("CB106", "aws_autoscaling_group.no_tag", file, 15),
        ("CB106", "aws_autoscaling_group.disagrees", file, 40),
        ("CB106", "aws_eks_node_group.no_tag", file, 45),
        ("CB106", "aws_eks_node_group.disagrees", file, 70),
    ]
    message = next(f.message for f in result.findings if f.resource.endswith("disagrees"))
    # max_size is a variable validated to at most 20; the tag says 10.
    assert "says 10, but the maximum is 20" in message


def test_terraform_tags_that_state_the_real_maximum_pass():
    result = run_scan(SCALING / "tf" / "cb106_good")
    assert not result.errors
    assert [h for h in hits(result) if h[0].startswith("CB1")] == []


def test_the_configured_tag_key_is_the_one_looked_for():
    config = make_config(ceilings={"tag_key": "team"})
    result = run_scan(SCALING / "cfn" / "cb106_bad.yaml", config=config)
    flagged = {r for _, r, _, _ in hits(result, "CB106")}
    # Every group lacks a 'team' tag except NoTag, whose 'team' tag is not a number.
    assert flagged == {
        "NoTag",
        "Disagrees",
        "NotANumber",
        "FromOtherParameter",
        "NodesNoTag",
        "NodesDisagree",
    }
    message = next(f.message for f in result.findings if f.resource == "NoTag")
    assert "the 'team' tag is 'agents', not a number" in message
    message = next(f.message for f in result.findings if f.resource == "Disagrees")
    assert "has no 'team' tag" in message
