"""The scaling family (CB103-CB107) on the shared corpus of real templates: the findings
on named AWS sample templates, pinned, and no template that the scaling adapters fail to
analyse. Skips when ../shared/ is absent (a user's clone).

Every finding pinned here was read against its template (see the judgement beside each):
"""

from __future__ import annotations

import pytest

from costbreaker.engine import scan
from costbreaker.rules.burn import burn_rates
from tests.conftest import CORPUS, requires_shared

pytestmark = requires_shared(CORPUS)

AWS = "aws-cloudformation-templates/"
FAMILY = ("CB103", "CB104", "CB106", "CB107")


@pytest.fixture(scope="module")
def corpus_result():
    return scan([str(CORPUS)], root=CORPUS)


def _findings(result, rule: str | None = None, prefix: str = AWS):
    return sorted(
        (
            f.rule_id,
            f.location.file.removeprefix(AWS),
            f.resource.removeprefix(AWS),
            f.location.line,
        )
        for f in result.findings
        if f.location.file.startswith(prefix) and (rule is None or f.rule_id == rule)
    )


def test_no_template_in_the_corpus_fails_to_be_analysed(corpus_result):
    broken = [e for e in corpus_result.errors if "could not be analysed" in e.message]
    assert broken == []


def test_ecs_clusters_whose_max_size_parameter_has_no_max_value_are_unbounded(corpus_result):
    # Parameters: MaxSize: {Type: Number, Default: "6"} - no MaxValue, so the cluster's
    # group, and with it the stack's burn rate, has no ceiling (CB101 says the same of
    # the group itself).
    cb107 = _findings(corpus_result, "CB107")
    for file, line in [
        ("ECS/EC2LaunchType/clusters/private-vpc.yaml", 347),
        ("ECS/EC2LaunchType/clusters/private-vpc.json", 473),
        ("ECS/EC2LaunchType/clusters/public-vpc.yaml", 219),
        ("ECS/EC2LaunchType/clusters/public-vpc.json", 265),
        ("ECS/ECS_Schedule_Example.yaml", 261),
        ("ECS/ECS_Schedule_Example.json", 372),
    ]:
        assert ("CB107", file, file, line) in cb107
    by_file = {f.location.file: f for f in corpus_result.findings if f.rule_id == "CB107"}
    finding = by_file[AWS + "ECS/EC2LaunchType/clusters/private-vpc.yaml"]
    assert finding.burn_rate == "unbounded"
    assert "parameter MaxSize has no MaxValue or AllowedValues (default 6)" in finding.message


def test_ecs_service_target_with_a_literal_max_capacity_is_not_a_finding(corpus_result):
    # ECS_Schedule_Example's ServiceScalingTarget: MaxCapacity 2, ECS on EC2 (its tasks
    # cost nothing beyond the cluster's instances).
    assert _findings(corpus_result, "CB103") == []
    assert _findings(corpus_result, "CB104") == []  # the EKS sample's MaxSize is 2


def test_instance_types_from_unconstrained_parameters_make_the_burn_rate_unknown(corpus_result):
    # InstanceType / NodeGroupInstanceTypes are String parameters with a default and no
    # AllowedValues: any type (a $98/h p5.48xlarge, or dearer) can be deployed, so the
    # worst case cannot be shown to stay within $500/h.
    unknown = {
        f.location.file.removeprefix(AWS): f
        for f in corpus_result.findings
        if f.rule_id == "CB107" and f.burn_rate == "unknown"
    }
    assert set(unknown) >= {
        "EKS/template.yaml",
        "EKS/template.json",
        "AutoScaling/AutoScalingMultiAZWithNotifications.yaml",
        "AutoScaling/AutoScalingMultiAZWithNotifications.json",
        "ElasticLoadBalancing/ELB_Access_Logs_And_Connection_Draining.yaml",
        "ElasticLoadBalancing/ELB_Access_Logs_And_Connection_Draining.json",
    }
    eks = unknown["EKS/template.yaml"]
    assert eks.location.line == 431  # ManagedNodeGroup's ScalingConfig.MaxSize
    assert "parameter NodeGroupInstanceTypes has no AllowedValues" in eks.message


def test_bounded_sample_stacks_are_priced_from_their_allowed_instance_types(corpus_result):
    # AllowedValues lists of up to 52 types (t1.micro ... i2.8xlarge): the dearest is
    # i2.8xlarge at $6.82/h. AutoScalingScheduledAction: MaxSize 5, lifted to 10 by
    # ScheduledActionUp: 10 x 6.82 = 68.20. AutoScalingRollingUpdates: 4 x 6.82 = 27.28.
    rates = {s.scope.removeprefix(AWS): s.rate for s in burn_rates(corpus_result.inventory)}
    assert rates["AutoScaling/AutoScalingScheduledAction.yaml"] == 68.2
    assert rates["AutoScaling/AutoScalingRollingUpdates.yaml"] == 27.28
    assert rates["EFS/efs_with_automount_to_ec2.yaml"] == 20.46  # 3 x 6.82
    assert rates["ElasticLoadBalancing/ELBWithLockedDownAutoScaledInstances.yaml"] == 13.64
    # Within the limit: no CB107 on them.
    cb107_files = {file for _, file, _, _ in _findings(corpus_result, "CB107")}
    assert "AutoScaling/AutoScalingScheduledAction.yaml" not in cb107_files


def test_the_family_findings_on_the_aws_samples_are_exactly_these(corpus_result):
    # CB107: 6 unbounded (the ECS clusters above) and 6 unknown (the unconstrained
    # instance types above), each at the maximum of the scaler that makes it so.
    # CB106: the 20 Auto Scaling groups and 2 EKS node groups of the samples all lack
    # the ceiling tag (none declares costbreaker:max-size), which is what the rule asks.
    found = [f for f in _findings(corpus_result) if f[0] in FAMILY]
    assert [(file, line) for rule, file, _, line in found if rule == "CB107"] == [
        ("AutoScaling/AutoScalingMultiAZWithNotifications.json", 275),
        ("AutoScaling/AutoScalingMultiAZWithNotifications.yaml", 198),
        ("ECS/EC2LaunchType/clusters/private-vpc.json", 473),
        ("ECS/EC2LaunchType/clusters/private-vpc.yaml", 347),
        ("ECS/EC2LaunchType/clusters/public-vpc.json", 265),
        ("ECS/EC2LaunchType/clusters/public-vpc.yaml", 219),
        ("ECS/ECS_Schedule_Example.json", 372),
        ("ECS/ECS_Schedule_Example.yaml", 261),
        ("EKS/template.json", 817),
        ("EKS/template.yaml", 431),
        ("ElasticLoadBalancing/ELB_Access_Logs_And_Connection_Draining.json", 259),
        ("ElasticLoadBalancing/ELB_Access_Logs_And_Connection_Draining.yaml", 181),
    ]
    cb106 = [(file, resource) for rule, file, resource, _ in found if rule == "CB106"]
    assert len(cb106) == 22
    assert sum(1 for _, resource in cb106 if resource == "ManagedNodeGroup") == 2
    assert ("ECS/ECS_Schedule_Example.json", "ECSAutoScalingGroup") in cb106
    assert {rule for rule, *_ in found} == {"CB106", "CB107"}
