"""CB107, the worst-case burn rate of a stack: right to the cent on fixtures computed by
hand (a mixed-instances group included), unbounded when a scaler is, unknown (never
zero) when a price cannot be known, the same in CloudFormation, Terraform and a plan,
and shown by the text, JSON and SARIF reports."""

from __future__ import annotations

import json

import pytest

from costbreaker.reports import json_report, sarif, text
from tests.conftest import FIXTURES, hits, make_config, run_scan

SCALING = FIXTURES / "scaling"

# The agent platform of cfn/cb107_bad.yaml and tf/cb107_bad, by hand, prices from
# scanner/data/prices.json (on-demand, us-east-1):
#   Inference (mixed instances, overrides g5.xlarge $1.006, g5.2xlarge $1.212,
#     g6.2xlarge $0.9776: the dearest is g5.2xlarge)   40 x 1.212   =  48.48
#   Workers (launch configuration c6i.2xlarge $0.34), MaxSize 30 lifted to 45 by a
#     scheduled action                                  45 x 0.34    =  15.30
#   Batch (launch template type from AllowedValues m5.large $0.096, m5.4xlarge $0.768,
#     r5.2xlarge $0.504; MaxSize bounded by MaxValue 25) 25 x 0.768  =  19.20
#   Training (EKS, p4d.24xlarge; spot priced on-demand)  8 x 32.7726 = 262.1808
#   ModelScaling (SageMaker variant ml.g5.12xlarge)     20 x 7.09    = 141.80
#   AgentScaling (Fargate task 4 vCPU, 16 GB:
#     4 x 0.04048 + 16 x 0.004445 = 0.23304)           100 x 0.23304 =  23.304
#   SessionWrites (DynamoDB WCU $0.00065)              100 x 0.00065 =   0.065
#   SessionReads (DynamoDB RCU $0.00013)               100 x 0.00013 =   0.013
#                                                                 total 510.3428
BAD_STACK_USD = 510.34


@pytest.mark.parametrize(
    ("path", "resource", "file", "line"),
    [
        (
            SCALING / "cfn" / "cb107_bad.yaml",
            "scaling/cfn/cb107_bad.yaml",
            "scaling/cfn/cb107_bad.yaml",
            77,  # the dearest scaler's maximum: Training's MaxSize
        ),
        (
            SCALING / "tf" / "cb107_bad",
            "scaling/tf/cb107_bad",
            "scaling/tf/cb107_bad/main.tf",
            94,
        ),
    ],
)
def test_the_burn_rate_of_the_stack_is_right_to_the_cent(path, resource, file, line):
    result = run_scan(path)
    assert not result.errors
    assert hits(result, "CB107") == [("CB107", resource, file, line)]
    finding = next(f for f in result.findings if f.rule_id == "CB107")
    assert finding.burn_rate == BAD_STACK_USD
    assert "$510.34/h, above the limit of $500.00/h" in finding.message
    assert "40 × the dearest of 3 types, g5.2xlarge at $1.212/h = $48.48/h" in finding.message
    scalers = {s["resource"].split(".")[-1].lower(): s for s in finding.evidence["scalers"]}
    assert scalers["inference"]["max_units"] == 40
    assert scalers["inference"]["unit_price_usd_per_hour"] == 1.212
    assert scalers["workers"]["max_units"] == 45  # the scheduled action's maximum
    assert scalers["batch"]["unit_price_usd_per_hour"] == 0.768
    assert finding.evidence["prices"] == "on-demand, us-east-1, as of 2024-11"


def test_below_the_limit_there_is_no_finding_but_the_rate_is_computed():
    from costbreaker.rules.burn import burn_rates

    result = run_scan(
        SCALING / "cfn" / "cb107_bad.yaml", config=make_config(ceilings={"max_hourly_usd": 510.35})
    )
    assert hits(result, "CB107") == []
    (stack,) = burn_rates(result.inventory)
    assert stack.rate == BAD_STACK_USD


def test_good_stacks_are_within_the_limit_and_priced_exactly():
    from costbreaker.rules.burn import burn_rates

    # cfn/cb107_good.yaml: 10 x t3.large (0.0832) = 0.832, plus 20 Graviton Fargate tasks
    # of 0.25 vCPU and 0.5 GB (0.25 x 0.03238 + 0.5 x 0.00356 = 0.009875) = 0.1975:
    # 1.0295, to the cent 1.03.
    cfn = run_scan(SCALING / "cfn" / "cb107_good.yaml")
    assert hits(cfn, "CB107") == []
    assert [s.rate for s in burn_rates(cfn.inventory)] == [1.03]
    # tf/cb107_good: 2 x g6.xlarge (0.8048) + 10 x t3.large (0.0832) = 2.4416.
    tf = run_scan(SCALING / "tf" / "cb107_good")
    assert hits(tf, "CB107") == []
    assert [s.rate for s in burn_rates(tf.inventory)] == [2.44]
    # A limit below the figure turns it into a finding that states the figure.
    strict = run_scan(
        SCALING / "tf" / "cb107_good", config=make_config(ceilings={"max_hourly_usd": 2})
    )
    (finding,) = [f for f in strict.findings if f.rule_id == "CB107"]
    assert finding.burn_rate == 2.44
    assert "$2.44/h, above the limit of $2.00/h" in finding.message


def test_an_unbounded_scaler_makes_the_stack_unbounded():
    result = run_scan(SCALING / "cfn" / "cb104_bad.yaml")
    (finding,) = [f for f in result.findings if f.rule_id == "CB107"]
    assert finding.burn_rate == "unbounded"
    assert "is unbounded: FromParameter, NoScalingConfig, OpenSpotFleet" in finding.message
    # TooHigh 80 x t3.medium (EKS default) 3.328 + BigFleet 500 x c6i.large 42.50
    # + VcpuFleet max(240 x m5.xlarge, 120 x m5.2xlarge) 46.08 = 91.908
    assert "The bounded, priced part alone is $91.91/h." in finding.message
    assert (finding.location.line, finding.resource) == (21, "scaling/cfn/cb104_bad.yaml")


def test_an_unknown_price_is_said_to_be_unknown_never_zero():
    result = run_scan(SCALING / "cfn" / "cb107_unknown.yaml")
    (finding,) = [f for f in result.findings if f.rule_id == "CB107"]
    assert finding.burn_rate == "unknown"
    assert "is unknown: the unit price of OpenGroup, Exotic, Concurrency" in finding.message
    assert "parameter InstanceType has no AllowedValues" in finding.message
    assert "The priced part alone is $0.38/h." in finding.message  # 4 x m5.large
    prices = {s["resource"]: s["price"] for s in finding.evidence["scalers"]}
    assert "x2iedn.32xlarge is not in the bundled price table" in prices["Exotic"]
    assert "no price for lambda capacity" in prices["Concurrency"]
    assert {s["resource"]: s["usd_per_hour"] for s in finding.evidence["scalers"]} == {
        "OpenGroup": None,
        "Exotic": None,
        "Known": 0.384,
        "Concurrency": None,
    }


def test_known_part_above_the_limit_is_reported_as_at_least():
    config = make_config(ceilings={"max_hourly_usd": 0.1})
    result = run_scan(SCALING / "cfn" / "cb107_unknown.yaml", config=config)
    (finding,) = [f for f in result.findings if f.rule_id == "CB107"]
    assert finding.burn_rate == 0.38
    assert "is at least $0.38/h" in finding.message
    assert "Unknown prices, not counted: OpenGroup, Exotic, Concurrency." in finding.message


def test_plan_burn_rate():
    # 120 x g5.2xlarge (1.212) = 145.44; 500 Fargate tasks of 0.5 vCPU and 1 GB
    # (0.02024 + 0.004445 = 0.024685) = 12.3425; 3 planned g5.xlarge (1.006) = 3.018;
    # 10 x m5.xlarge (the dearer override) = 1.92; and 4 x m5.large (0.096) = 0.384 for
    # the group whose launch template is linked through the plan's configuration
    # (nested block references): 163.1045.
    config = make_config(ceilings={"max_hourly_usd": 100})
    result = run_scan(SCALING / "plan" / "scaling_plan.json", config=config)
    assert hits(result, "CB107") == [
        ("CB107", "scaling/plan/scaling_plan.json", "scaling/plan/scaling_plan.json", 78)
    ]
    (finding,) = [f for f in result.findings if f.rule_id == "CB107"]
    assert finding.burn_rate == 163.1
    assert "this plan" in finding.message
    batch = next(s for s in finding.evidence["scalers"] if s["resource"].endswith(".batch"))
    assert batch["price"] == "m5.large at $0.096/h"


def test_reports_show_the_burn_rate():
    result = run_scan(SCALING / "cfn" / "cb107_bad.yaml")
    assert "worst-case burn rate: $510.34/h" in text.render(result, colour=False)
    report = json.loads(json_report.render(result))
    (entry,) = [f for f in report["findings"] if f["rule"] == "CB107"]
    assert entry["burn_rate_usd_per_hour"] == 510.34
    log = json.loads(sarif.render(result))
    (item,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "CB107"]
    assert item["properties"]["burnRateUsdPerHour"] == 510.34
    assert "Worst-case burn rate: $510.34/h." in item["message"]["text"]

    unbounded = run_scan(SCALING / "cfn" / "cb104_bad.yaml")
    assert "worst-case burn rate: unbounded" in text.render(unbounded, colour=False)
    report = json.loads(json_report.render(unbounded))
    (entry,) = [f for f in report["findings"] if f["rule"] == "CB107"]
    assert entry["burn_rate_usd_per_hour"] == "unbounded"


def test_burn_rate_reports_are_deterministic():
    first = sarif.render(run_scan(SCALING / "cfn" / "cb107_bad.yaml", SCALING / "tf"))
    second = sarif.render(run_scan(SCALING / "cfn" / "cb107_bad.yaml", SCALING / "tf"))
    assert first == second


CFN_GROUP = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Type:
    Type: String
{type_bound}  Size:
    Type: Number
{size_bound}Resources:
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        InstanceType: !Ref Type
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      LaunchTemplate:
        LaunchTemplateId: !Ref Template
        Version: "1"
      MinSize: "0"
      MaxSize: !Ref Size
"""


@pytest.mark.parametrize(
    ("type_bound", "size_bound", "rate"),
    [
        ("", "    MaxValue: 10\n", "unknown"),  # any instance type can be passed
        ("    AllowedValues: [g5.xlarge, g5.48xlarge]\n", "", "unbounded"),  # any size
        # 10 x g5.48xlarge (16.288) = 162.88: bounded and priced, within $500/h.
        ("    AllowedValues: [g5.xlarge, g5.48xlarge]\n", "    MaxValue: 10\n", None),
        # 40 x 16.288 = 651.52: above the limit.
        ("    AllowedValues: [g5.xlarge, g5.48xlarge]\n", "    MaxValue: 40\n", 651.52),
    ],
)
def test_parameters_that_bound_type_and_size_bound_the_burn_rate(
    tmp_path, type_bound, size_bound, rate
):
    (tmp_path / "t.yaml").write_text(CFN_GROUP.format(type_bound=type_bound, size_bound=size_bound))
    result = run_scan(tmp_path / "t.yaml", root=tmp_path)
    found = [f.burn_rate for f in result.findings if f.rule_id == "CB107"]
    assert found == ([] if rate is None else [rate])


TF_GROUP = """\
variable "type" {{
  type = string
{validation}}}

resource "aws_launch_template" "t" {{
  instance_type = var.type
}}

resource "aws_autoscaling_group" "g" {{
  min_size = 0
  max_size = 40
  launch_template {{
    id = aws_launch_template.t.id
  }}
}}
"""


@pytest.mark.parametrize(
    ("validation", "rate"),
    [
        ("", "unknown"),
        (
            "  validation {\n"
            '    condition     = contains(["t3.large", "g6.12xlarge"], var.type)\n'
            '    error_message = "An approved type."\n  }\n',
            None,  # 40 x g6.12xlarge (4.6016) = 184.06
        ),
        (
            "  validation {\n"
            '    condition     = contains(["t3.large", "p4d.24xlarge"], var.type)\n'
            '    error_message = "An approved type."\n  }\n',
            1310.9,  # 40 x 32.7726 = 1310.904
        ),
    ],
)
def test_a_variable_validation_bounds_the_instance_type(tmp_path, validation, rate):
    (tmp_path / "main.tf").write_text(TF_GROUP.format(validation=validation))
    result = run_scan(tmp_path, root=tmp_path)
    found = [f.burn_rate for f in result.findings if f.rule_id == "CB107"]
    assert found == ([] if rate is None else [rate])
