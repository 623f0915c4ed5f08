"""CB1xx: hard ceilings on everything that scales, and the worst-case burn rate.

Each rule reads scaling facts only (`needs=`), so a scan without scalers never runs
them; CB107 reads the bundled price table the first time it prices something.
"""

from __future__ import annotations

from collections.abc import Iterator

from costbreaker import prices
from costbreaker.config import Config
from costbreaker.findings import Finding
from costbreaker.inventory import (
    AutoScalingGroup,
    CeilingLift,
    Fleet,
    Instances,
    Inventory,
    NodeGroup,
    Resource,
    ScalableTarget,
    Scaler,
    Value,
    as_number,
    repr_value,
)
from costbreaker.rules import rule, scope_word
from costbreaker.rules.burn import Part, burn_rates, maximum_attribute


def ceiling_problem(value: Value, ceiling: float, attribute: str, key: str) -> str | None:
    """Why a configured maximum is not a finite ceiling within the limit, or None."""
    if value.is_absent:
        return f"{attribute} is not set, so nothing caps how far it scales"
    number = value.number()
    if number is None:
        if value.kind == "unresolved":
            return f"{attribute} is not a finite ceiling: {value.why}"
        return f"{attribute} cannot be bounded ({value.why})"
    if number > ceiling:
        shown = (
            repr_value(number)
            if value.kind == "literal"
            else f"up to {repr_value(number)} ({value.why})"
        )
        return f"{attribute} is {shown}, above the ceiling of {repr_value(ceiling)} ({key})"
    return None


@rule(
    id="CB101",
    title="Auto Scaling group without a finite ceiling",
    severity="high",
    description=(
        "An Auto Scaling group's MaxSize is missing, unresolvable, taken from a parameter "
        "without MaxValue or AllowedValues (or a Terraform variable without a bounding "
        "validation), or above ceilings.asg_max_size."
    ),
    remediation=(
        "Set MaxSize to a literal within ceilings.asg_max_size, or give its parameter a "
        "MaxValue (its variable a validation that bounds it)."
    ),
    help="""
A group that scales on CPU or queue depth reads an agent stuck in a loop as demand and
keeps launching instances. Its `MaxSize` is the only hard stop. A parameter without
`MaxValue` (or a Terraform variable without a validation block) lets anyone deploy any
number, so it is not a ceiling.

**Fix** (CloudFormation):
```yaml
Parameters:
  MaxSize:
    Type: Number
    MaxValue: 20
Resources:
  Workers:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MaxSize: !Ref MaxSize
```
**Fix** (Terraform):
```hcl
variable "max_size" {
  type = number
  validation {
    condition     = var.max_size <= 20
    error_message = "max_size must be at most 20."
  }
}
```
""",
    needs=(AutoScalingGroup,),
    remediation_template="asg-ceiling",
    tags=("scaling",),
)
def cb101(inventory: Inventory, config: Config) -> Iterator[Finding]:
    ceiling = config.ceiling("asg_max_size")
    for group in inventory.of(AutoScalingGroup):
        problem = ceiling_problem(
            group.max_size, ceiling, _attr(group.source, "MaxSize"), "ceilings.asg_max_size"
        )
        if problem:
            yield cb101.hit(
                group,
                f"Auto Scaling group {group.address}: {problem}.",
                group.max_size.location,
                evidence={"max_size": group.max_size.describe(), "ceiling": ceiling},
            )


@rule(
    id="CB102",
    title="Something can lift a group's ceiling later",
    severity="high",
    description=(
        "A scheduled action, warm pool or update policy sets a maximum above the group's "
        "own ceiling or the configured one (for an Application Auto Scaling target's "
        "scheduled action: its MaxCapacity and ceilings.scalable_target_max_capacity)."
    ),
    remediation=(
        "Keep scheduled and warm-pool maxima within the group's MaxSize and "
        "ceilings.asg_max_size; prefer rolling updates over replacing updates for large groups."
    ),
    help="""
A ceiling is only as good as the highest value anything can set it to. A scheduled
action that raises `MaxSize` at 9am, a warm pool whose `MaxGroupPreparedCapacity`
exceeds the group, or an `AutoScalingReplacingUpdate` (which runs a second, full-size
group beside the first during an update) all lift it.

**Fix**: make the scheduled action's `MaxSize` at most the group's, bound it with a
parameter `MaxValue`, and size warm pools within the group's maximum.
""",
    needs=(CeilingLift,),
    remediation_template="asg-ceiling",
    tags=("scaling",),
)
def cb102(inventory: Inventory, config: Config) -> Iterator[Finding]:
    for lift in inventory.of(CeilingLift):
        key = lift.ceiling_key
        ceiling = config.ceiling(key)
        group = inventory.find(lift.scope, lift.group) if lift.group else None
        group_max = group.maximum().number() if isinstance(group, Scaler) else None
        target = f"group {lift.group}" if lift.group else "its group"
        if key != "asg_max_size":
            target = f"target {lift.group}" if lift.group else "its target"
        value = lift.max_value
        number = value.number()
        message = None
        if number is None:
            message = (
                f"{lift.mechanism} {lift.address} sets the maximum of {target} to a value "
                f"that is not bounded: {value.why}"
            )
        elif number > ceiling:
            message = (
                f"{lift.mechanism} {lift.address} lets {target} reach {repr_value(number)} "
                f"{lift.unit}, above the ceiling of {repr_value(ceiling)} (ceilings.{key})"
            )
        elif group_max is not None and number > group_max and "update policy" not in lift.mechanism:
            message = (
                f"{lift.mechanism} {lift.address} raises the maximum of {target} from "
                f"{repr_value(group_max)} to {repr_value(number)}"
            )
        if message:
            yield cb102.hit(
                lift,
                message + ".",
                value.location,
                evidence={
                    "mechanism": lift.mechanism,
                    "max": value.describe(),
                    "group": lift.group,
                    "group_max": group_max,
                    "ceiling": ceiling,
                },
            )


@rule(
    id="CB103",
    title="Application Auto Scaling target without a finite ceiling",
    severity="high",
    description=(
        "An Application Auto Scaling target (ECS service, DynamoDB table or index, SageMaker "
        "variant, Aurora replicas, Lambda provisioned concurrency, or any other namespace) "
        "has a MaxCapacity that is unresolved, taken from an unbounded parameter or variable, "
        "or above ceilings.scalable_target_max_capacity."
    ),
    remediation=(
        "Set MaxCapacity to a literal within ceilings.scalable_target_max_capacity, or bound "
        "its parameter with MaxValue (its variable with a validation)."
    ),
    help="""
Application Auto Scaling adds ECS tasks, SageMaker instances, Aurora replicas or
provisioned concurrency whenever its metric says so, and a loop's load looks like demand.
`MaxCapacity` is the only hard stop; a parameter without `MaxValue` (a variable without a
validation) is no stop at all.

**Fix** (CloudFormation):
```yaml
Parameters:
  MaxTasks:
    Type: Number
    MaxValue: 20
Resources:
  ServiceScaling:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties:
      MaxCapacity: !Ref MaxTasks
```
**Fix** (Terraform):
```hcl
resource "aws_appautoscaling_target" "service" {
  max_capacity = 20
}
```
""",
    needs=(ScalableTarget,),
    remediation_template="scalable-target-ceiling",
    tags=("scaling",),
)
def cb103(inventory: Inventory, config: Config) -> Iterator[Finding]:
    ceiling = config.ceiling("scalable_target_max_capacity")
    for target in inventory.of(ScalableTarget):
        problem = ceiling_problem(
            target.max_capacity,
            ceiling,
            _attr(target.source, "MaxCapacity"),
            "ceilings.scalable_target_max_capacity",
        )
        if problem:
            what = " ".join(
                part for part in (target.namespace.text(), target.dimension.text()) if part
            )
            yield cb103.hit(
                target,
                f"Scalable target {target.address}{f' ({what})' if what else ''}: {problem}.",
                target.max_capacity.location,
                evidence={
                    "max_capacity": target.max_capacity.describe(),
                    "namespace": target.namespace.text() or "",
                    "dimension": target.dimension.text() or "",
                    "ceiling": ceiling,
                },
            )


@rule(
    id="CB104",
    title="Node group, fleet or instance count without a finite ceiling",
    severity="high",
    description=(
        "An EKS managed node group's maximum size is above ceilings.nodegroup_max_size or not "
        "bounded; an EC2 Fleet's or Spot Fleet's target capacity, or the count/for_each of "
        "Terraform instances, is above ceilings.fleet_target_capacity or not bounded."
    ),
    remediation=(
        "Give node groups a literal or bounded MaxSize within ceilings.nodegroup_max_size, "
        "fleets a target capacity within ceilings.fleet_target_capacity, and count/for_each "
        "a variable whose validation bounds it."
    ),
    help="""
Node groups scale with the cluster autoscaler (or Karpenter's demand), fleets launch
whatever target capacity they are given, and a Terraform `count` taken from a variable
launches as many instances as someone passes. Each needs a ceiling the template states.

**Fix** (CloudFormation):
```yaml
ScalingConfig:
  MinSize: 1
  DesiredSize: 2
  MaxSize: 10
```
**Fix** (Terraform):
```hcl
variable "workers" {
  type = number
  validation {
    condition     = var.workers <= 10
    error_message = "At most 10 workers."
  }
}
resource "aws_instance" "worker" {
  count = var.workers
}
```
""",
    needs=(NodeGroup, Fleet, Instances),
    remediation_template="nodegroup-fleet-ceiling",
    tags=("scaling",),
)
def cb104(inventory: Inventory, config: Config) -> Iterator[Finding]:
    node_ceiling = config.ceiling("nodegroup_max_size")
    fleet_ceiling = config.ceiling("fleet_target_capacity")
    for group in inventory.of(NodeGroup):
        attribute = "scaling_config.max_size" if _is_tf(group) else "ScalingConfig.MaxSize"
        problem = ceiling_problem(
            group.max_size, node_ceiling, attribute, "ceilings.nodegroup_max_size"
        )
        if problem:
            yield cb104.hit(
                group,
                f"EKS node group {group.address}: {problem}.",
                group.max_size.location,
                evidence={"max_size": group.max_size.describe(), "ceiling": node_ceiling},
            )
    for fleet in inventory.of(Fleet):
        attribute = _fleet_attribute(fleet)
        capacity = fleet.target_capacity
        if fleet.unit_type == "units" or capacity.number() is None:
            problem = ceiling_problem(
                capacity, fleet_ceiling, attribute, "ceilings.fleet_target_capacity"
            )
        else:
            problem = _weighted_fleet_problem(fleet, fleet_ceiling, attribute)
        if problem:
            yield cb104.hit(
                fleet,
                f"{fleet.fleet_kind} {fleet.address}: {problem}.",
                capacity.location,
                evidence={
                    "target_capacity": capacity.describe(),
                    "unit_type": fleet.unit_type,
                    "ceiling": fleet_ceiling,
                },
            )
    for instances in inventory.of(Instances):
        if not instances.counted:
            continue
        problem = ceiling_problem(
            instances.copies,
            fleet_ceiling,
            instances.counted,
            "ceilings.fleet_target_capacity",
        )
        if problem:
            yield cb104.hit(
                instances,
                f"Instances {instances.address}: {problem}.",
                instances.copies.location,
                evidence={"count": instances.copies.describe(), "ceiling": fleet_ceiling},
            )


def _fleet_attribute(fleet: Fleet) -> str:
    if fleet.fleet_kind == "EC2 Fleet":
        if _is_tf(fleet):
            return "target_capacity_specification.total_target_capacity"
        return "TargetCapacitySpecification.TotalTargetCapacity"
    return "target_capacity" if _is_tf(fleet) else "SpotFleetRequestConfigData.TargetCapacity"


def _weighted_fleet_problem(fleet: Fleet, ceiling: float, attribute: str) -> str | None:
    """A capacity counted in vCPUs or MiB is held to the ceiling in instances: the most
    instances it can take is the target divided by the smallest weight."""
    weights = [w for w in fleet.weights if w]
    target = fleet.target_capacity.number() or 0
    if not weights or len(weights) != len(fleet.weights) or fleet.launch_templates:
        return None  # each type weighs its own size; the instance count is not derivable
    most = -(-target // min(weights))
    if most > ceiling:
        return (
            f"{attribute} of {repr_value(target)} {fleet.unit} can take up to "
            f"{repr_value(most)} instances, above the ceiling of {repr_value(ceiling)} "
            "(ceilings.fleet_target_capacity)"
        )
    return None


@rule(
    id="CB106",
    title="Ceiling not declared as a tag, or the tag disagrees",
    severity="low",
    description=(
        "An Auto Scaling group or EKS node group lacks the ceiling tag (ceilings.tag_key), or "
        "the tag's value is not the group's real maximum. (The organization half, an SCP on "
        "autoscaling:MaxSize, is checked by the account scan.)"
    ),
    remediation=(
        "Tag the group with ceilings.tag_key (default costbreaker:max-size) set to its "
        "MaxSize, from the same parameter or variable."
    ),
    help="""
A ceiling declared as a tag can be audited across accounts and enforced by an SCP with
a `NumericGreaterThan` condition on `autoscaling:MaxSize`. A tag that says 10 on a group
whose `MaxSize` is 40 misleads every audit that reads it.

**Fix** (CloudFormation):
```yaml
Tags:
  - Key: costbreaker:max-size
    Value: !Ref MaxSize
    PropagateAtLaunch: false
```
**Fix** (Terraform):
```hcl
tag {
  key                 = "costbreaker:max-size"
  value               = var.max_size
  propagate_at_launch = false
}
```
""",
    needs=(AutoScalingGroup, NodeGroup),
    remediation_template="ceiling-tag",
    tags=("scaling",),
)
def cb106(inventory: Inventory, config: Config) -> Iterator[Finding]:
    key = config.ceiling("tag_key")
    groups: list[AutoScalingGroup | NodeGroup] = [
        *inventory.of(AutoScalingGroup),
        *inventory.of(NodeGroup),
    ]
    for group in groups:
        kind = "Auto Scaling group" if isinstance(group, AutoScalingGroup) else "EKS node group"
        maximum = group.maximum()
        tag = group.tags.get(key)
        if tag is None:
            if not group.tags_known:
                continue  # computed tags: the ceiling tag may be there, unseen
            attribute = maximum_attribute(group)
            shown = (
                f"{attribute} is {maximum.describe()}"
                if maximum.is_known
                else f"{attribute} is not bounded either"
            )
            yield cb106.hit(
                group,
                f"{kind} {group.address} has no '{key}' tag declaring its ceiling ({shown}).",
                evidence={"tag_key": key, "max": maximum.describe()},
            )
            continue
        problem = _tag_disagrees(tag, maximum)
        if problem:
            yield cb106.hit(
                group,
                f"{kind} {group.address}: the '{key}' tag {problem}.",
                tag.location,
                evidence={"tag_key": key, "tag": tag.describe(), "max": maximum.describe()},
            )


def _tag_disagrees(tag: Value, maximum: Value) -> str | None:
    """Why a ceiling tag does not state the group's real maximum, or None."""
    if (tag.kind, tag.value, tag.why) == (maximum.kind, maximum.value, maximum.why):
        return None  # the same literal, or the same parameter/variable
    if not maximum.is_known:
        return None  # CB101/CB104 report the maximum itself
    top = maximum.number()
    if tag.kind == "literal":
        number = as_number(tag.value)
        if number is None:
            return f"is {tag.value!r}, not a number (the maximum is {repr_value(top)})"
        if top is not None and number != top:
            return f"says {repr_value(number)}, but the maximum is {repr_value(top)}"
        return None
    if tag.kind == "bound" and tag.number() == top:
        return None
    return f"cannot be checked against the maximum of {maximum.describe()}: {tag.describe()}"


@rule(
    id="CB107",
    title="Worst-case burn rate above the limit, unbounded or unknown",
    severity="high",
    description=(
        "The worst-case burn rate of a stack or account (each scaler's maximum times the "
        "on-demand price of one unit, from the bundled price table) exceeds "
        "ceilings.max_hourly_usd, or cannot be bounded: a scaler without a finite maximum "
        "makes it unbounded, a unit whose price cannot be known makes it unknown."
    ),
    remediation=(
        "Lower the maxima (or the instance types) of the scalers listed until the total is "
        "within ceilings.max_hourly_usd; bound instance-type parameters with AllowedValues."
    ),
    help="""
The burn rate is what the stack costs per hour if everything that scales reaches its
maximum at once, which is what a loop does. It is the sum, over every Auto Scaling group,
EKS node group, fleet, counted instance and Application Auto Scaling target, of its
maximum times the price of one unit: the dearest instance type it can launch
(launch template, launch configuration or mixed-instances overrides), the Fargate task
size, the SageMaker instance type, a DynamoDB capacity unit. Prices are on-demand,
us-east-1, from the table bundled with costbreaker (its date is in the finding's
evidence); spot capacity is counted at the on-demand price, its upper bound.

A scaler without a finite maximum makes the burn rate unbounded. A price that cannot be
known (an instance type from a parameter without AllowedValues, a type the table lacks)
makes it unknown: it is never counted as zero.

**Fix**: lower `MaxSize`/`MaxCapacity`, use smaller types, or split the workload; then
record the budget in `.costbreaker.yml`:
```yaml
ceilings:
  max_hourly_usd: 500
```
""",
    needs=(Scaler,),
    remediation_template="burn-rate",
    tags=("scaling",),
)
def cb107(inventory: Inventory, config: Config) -> Iterator[Finding]:
    limit = float(config.ceiling("max_hourly_usd"))
    for stack in burn_rates(inventory):
        word = scope_word(stack.source, "account region")  # spend is per region
        rate = stack.rate
        known = stack.known_usd
        if rate == "unbounded":
            lead = stack.unbounded[0]
            names = ", ".join(p.fact.address for p in stack.unbounded[:5])
            more = _more(len(stack.unbounded), 5)
            message = (
                f"The worst-case burn rate of this {word} is unbounded: "
                f"{names}{more} can scale without a finite ceiling ({lead.fact.address}: "
                f"{lead.unbounded_why})."
            )
            if known:
                message += f" The bounded, priced part alone is ${known:,.2f}/h."
            where = lead.location
        elif rate == "unknown" and known <= limit:
            lead = stack.unpriced[0]
            names = ", ".join(p.fact.address for p in stack.unpriced[:5])
            more = _more(len(stack.unpriced), 5)
            message = (
                f"The worst-case burn rate of this {word} is unknown: "
                f"the unit price of {names}{more} cannot be known ({lead.fact.address}: "
                f"{lead.price.what}), so it cannot be shown to stay within the limit of "
                f"${limit:,.2f}/h (ceilings.max_hourly_usd)."
            )
            if known:
                message += f" The priced part alone is ${known:,.2f}/h."
            where = lead.location
        elif known > limit:
            priced = sorted(
                (p for p in stack.parts if p.usd), key=lambda p: (-(p.usd or 0), p.fact.address)
            )
            shown = "; ".join(_describe_part(p) for p in priced[:5]) + _more(len(priced), 5)
            unknown = ""
            if stack.unpriced:
                unknown = " Unknown prices, not counted: " + ", ".join(
                    p.fact.address for p in stack.unpriced
                )
                rate = known  # at least this much
                unknown += "."
            message = (
                f"The worst-case burn rate of this {word} is "
                f"{'at least ' if stack.unpriced else ''}${known:,.2f}/h, above the limit of "
                f"${limit:,.2f}/h (ceilings.max_hourly_usd): {shown}.{unknown}"
            )
            where = priced[0].location
            rate = known
        else:
            continue
        meta = prices.meta()
        finding = cb107.hit(
            stack.parts[0].fact,
            message,
            where,
            burn_rate=rate,
            evidence={
                "burn_rate_usd_per_hour": rate,
                "priced_usd_per_hour": known,
                "limit_usd_per_hour": limit,
                "scalers": [_part_evidence(p) for p in stack.parts],
                "prices": f"on-demand, {_region(meta)}, as of {meta.get('as_of', '?')}",
            },
        )
        finding.resource = stack.scope
        finding.resource_type = word
        yield finding


def _region(meta: dict) -> str:
    return "us-east-1" if "us-east-1" in str(meta.get("what", "")) else "?"


def _more(total: int, shown: int) -> str:
    return f" and {total - shown} more" if total > shown else ""


def _describe_part(part: Part) -> str:
    units = repr_value(part.units)
    return f"{part.fact.address} {units} × {part.price.what} = ${part.usd:,.2f}/h"


def _part_evidence(part: Part) -> dict:
    return {
        "resource": part.fact.address,
        "type": part.fact.type,
        "max_units": _plain(part.units),
        "unit_price_usd_per_hour": part.price.usd,
        "price": part.price.what,
        "usd_per_hour": None if part.usd is None else round(part.usd, 4),
        **({"unbounded": part.unbounded_why} if part.units is None else {}),
    }


def _plain(number: float | None) -> float | int | None:
    """Whole numbers as int in evidence (40, not 40.0)."""
    return int(number) if number is not None and float(number).is_integer() else number


def _is_tf(fact: Resource) -> bool:
    return fact.source.startswith("terraform")


def _attr(source: str, cfn_name: str) -> str:
    """The attribute's name as the user wrote it: MaxSize in CloudFormation, max_size
    in Terraform."""
    if source.startswith("terraform"):
        return "".join("_" + c.lower() if c.isupper() else c for c in cfn_name).lstrip("_")
    return cfn_name
