"""CB1xx: hard ceilings on everything that scales."""

from __future__ import annotations

from collections.abc import Iterator

from costbreaker.config import Config
from costbreaker.findings import Finding
from costbreaker.inventory import AutoScalingGroup, CeilingLift, Inventory, Value, repr_value
from costbreaker.rules import rule


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
        "own ceiling or the configured one."
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
    ceiling = config.ceiling("asg_max_size")
    for lift in inventory.of(CeilingLift):
        group = inventory.find(lift.scope, lift.group) if lift.group else None
        group_max = group.max_size.number() if isinstance(group, AutoScalingGroup) else None
        target = f"group {lift.group}" if lift.group else "its group"
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
                f"instances, above the ceiling of {repr_value(ceiling)} (ceilings.asg_max_size)"
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


def _attr(source: str, cfn_name: str) -> str:
    """The attribute's name as the user wrote it: MaxSize in CloudFormation, max_size
    in Terraform."""
    if source.startswith("terraform"):
        return "".join("_" + c.lower() if c.isupper() else c for c in cfn_name).lstrip("_")
    return cfn_name
