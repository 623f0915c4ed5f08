"""Worst-case burn rate: each scaler's maximum times the price of one of its units.

CB107 needs, per scope (a template, a Terraform module or plan, an account/region), the
most every scaler can run at once and what one unit costs. Both can fail in different
ways, and the difference matters to the user:

- a maximum that is not bounded makes the whole scope's burn rate *unbounded*;
- a price that cannot be known (an instance type from an unconstrained parameter, a
  type missing from the bundled table, capacity we have no price model for) makes it
  *unknown*; it is never counted as zero.

What one unit is depends on the scaler: an EC2 instance of the dearest type a group,
node group, fleet or counted instance can launch (mixed-instances overrides and
launch templates included); a Fargate task of its task definition's size; a SageMaker
instance of the variant's type; a DynamoDB capacity unit. The facts name the launch
template, service or endpoint they use; this module follows those links within the
scope with `Inventory.find`, so nothing re-reads a template.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from costbreaker import prices
from costbreaker.inventory import (
    AutoScalingGroup,
    CeilingLift,
    EcsService,
    Endpoint,
    EndpointConfig,
    Fleet,
    Instances,
    Inventory,
    LaunchTemplate,
    Location,
    NodeGroup,
    ScalableTarget,
    Scaler,
    TaskDefinition,
    Value,
    repr_value,
)

EKS_DEFAULT_INSTANCE_TYPE = "t3.medium"  # what EKS launches when nothing names a type
CENT = Decimal("0.01")


@dataclass
class Price:
    """The hourly price of one unit, or why it is unknown."""

    usd: float | None
    what: str  # "g5.xlarge at $1.006/h", or the reason the price is unknown

    @staticmethod
    def unknown(why: str) -> Price:
        return Price(None, why)


@dataclass
class Part:
    """One scaler's share of its scope's worst-case burn rate."""

    fact: Scaler
    units: float | None  # the most units at once (maximum × copies); None if unbounded
    unbounded_why: str
    price: Price
    location: Location

    @property
    def usd(self) -> float | None:
        """Worst-case USD/hour of this scaler, None when unbounded or unpriced."""
        if self.units is None:
            return None
        if self.units == 0:
            return 0.0
        if self.price.usd is None:
            return None
        return self.units * self.price.usd


@dataclass
class StackBurn:
    """The worst-case burn rate of one scope."""

    scope: str
    source: str
    parts: list[Part] = field(default_factory=list)

    @property
    def unbounded(self) -> list[Part]:
        return [p for p in self.parts if p.units is None]

    @property
    def unpriced(self) -> list[Part]:
        return [p for p in self.parts if p.units is not None and p.usd is None]

    @property
    def known_usd(self) -> float:
        """Sum over the scalers whose maximum and price are both known, to the cent
        (summed in decimal, so 20 × $5.672 is $113.44, not $113.44000000000001)."""
        total = sum(
            (
                Decimal(repr(p.units)) * Decimal(repr(p.price.usd))
                for p in self.parts
                if p.usd is not None and p.units and p.price.usd is not None
            ),
            Decimal(0),
        )
        return float(total.quantize(CENT, ROUND_HALF_UP))

    @property
    def rate(self) -> float | str:
        """USD/hour to the cent, or "unbounded" / "unknown"."""
        if self.unbounded:
            return "unbounded"
        if self.unpriced:
            return "unknown"
        return self.known_usd


def burn_rates(inventory: Inventory) -> list[StackBurn]:
    """The worst-case burn rate of every scope that has scalers, sorted by scope."""
    lifts: dict[tuple[str, str], list[Value]] = {}
    for lift in inventory.of(CeilingLift):
        if lift.group and lift.mechanism == "scheduled action":
            lifts.setdefault((lift.scope, lift.group), []).append(lift.max_value)
    # A scalable target on a Spot Fleet raises the fleet's own target capacity.
    for target in inventory.of(ScalableTarget):
        for ref in target.refs:
            if isinstance(inventory.find(target.scope, ref), Fleet):
                lifts.setdefault((target.scope, ref), []).append(target.max_capacity)
    stacks: dict[str, StackBurn] = {}
    for fact in inventory.of(Scaler):
        stack = stacks.setdefault(fact.scope, StackBurn(fact.scope, fact.source))
        stack.parts.append(_part(fact, inventory, lifts.get((fact.scope, fact.address), [])))
    for stack in stacks.values():
        stack.parts.sort(key=lambda p: (p.location.file, p.location.line, p.fact.address))
    return [stacks[scope] for scope in sorted(stacks)]


# ---- maxima ------------------------------------------------------------------------------


def _part(fact: Scaler, inventory: Inventory, lifts: list[Value]) -> Part:
    maximum = fact.maximum()
    location = maximum.location if maximum.location and maximum.location.line else fact.location
    units, why = _units(fact, maximum, lifts)
    if isinstance(fact, Fleet):
        price, units = _fleet_price(fact, inventory, units)
    else:
        price = unit_price(fact, inventory)
    return Part(fact, units, why, price, location)


def _units(fact: Scaler, maximum: Value, lifts: list[Value]) -> tuple[float | None, str]:
    """(most units at once, "") or (None, why it is unbounded)."""
    top = maximum.number()
    if top is None and not isinstance(fact, Instances):
        return None, f"{maximum_attribute(fact)} {_why(maximum)}"
    for lift in lifts:
        lifted = lift.number()
        if lifted is None:
            return None, f"a scheduled action's maximum {_why(lift)}"
        top = max(top or 0, lifted)
    copies = fact.copies.number()
    if copies is None:
        return None, f"count/for_each {_why(fact.copies)}"
    if isinstance(fact, Instances):
        return copies, ""
    return top * copies, ""


def maximum_attribute(fact: Scaler) -> str:
    """The attribute that holds a scaler's maximum, as its source spells it."""
    terraform = fact.source.startswith("terraform")
    if isinstance(fact, AutoScalingGroup):
        return "max_size" if terraform else "MaxSize"
    if isinstance(fact, NodeGroup):
        return "scaling_config.max_size" if terraform else "ScalingConfig.MaxSize"
    if isinstance(fact, ScalableTarget):
        return "max_capacity" if terraform else "MaxCapacity"
    if isinstance(fact, Fleet):
        return "target capacity"
    return "count"


def _why(value: Value) -> str:
    if value.is_absent:
        return "is not set"
    if value.kind == "unresolved":
        return f"is not bounded: {value.why}"
    return f"is {value.describe()}"


# ---- prices ------------------------------------------------------------------------------


def unit_price(fact: Scaler, inventory: Inventory) -> Price:
    """What one unit of this scaler's capacity costs per hour."""
    if isinstance(fact, AutoScalingGroup):
        return _instance_price(fact.instance_types, fact.launch_template, fact, inventory)
    if isinstance(fact, NodeGroup):
        return _instance_price(
            fact.instance_types, fact.launch_template, fact, inventory, EKS_DEFAULT_INSTANCE_TYPE
        )
    if isinstance(fact, Instances):
        types = [fact.instance_type] if not fact.instance_type.is_absent else []
        return _instance_price(types, fact.launch_template, fact, inventory)
    if isinstance(fact, ScalableTarget):
        return _target_price(fact, inventory)
    return Price.unknown(f"no price model for {fact.type}")


def dearest(types: list[Value], table: str = "ec2") -> Price:
    """The dearest of the instance types a scaler can launch, or why it is unknown."""
    lookup = prices.sagemaker if table == "sagemaker" else prices.ec2
    best: Price | None = None
    seen: set[str] = set()
    for value in types:
        names: tuple = ()
        if value.kind == "literal" and isinstance(value.value, str):
            names = (value.value,)
        elif value.is_known and value.choices:
            names = tuple(str(c) for c in value.choices)
        if not names:
            why = value.why if value.kind != "absent" else "not set"
            # An instance type is a string: only AllowedValues can bound it.
            why = why.replace("has no MaxValue or AllowedValues", "has no AllowedValues")
            return Price.unknown(f"its instance type is unresolved: {why}")
        for name in names:
            seen.add(name)
            usd = lookup(name)
            if usd is None:
                return Price.unknown(
                    f"{name} is not in the bundled price table "
                    "(scripts/update_prices.py refreshes it)"
                )
            if best is None or usd > best.usd:  # type: ignore[operator]
                best = Price(usd, f"{name} at ${_usd(usd)}/h")
    if best is None:
        return Price.unknown("no instance type is named")
    if len(seen) > 1:
        best = Price(best.usd, f"the dearest of {len(seen)} types, {best.what}")
    return best


def _instance_price(
    types: list[Value],
    launch_template: str,
    fact: Scaler,
    inventory: Inventory,
    default_type: str = "",
) -> Price:
    if types:
        return dearest(types)
    if launch_template:
        template = inventory.find(fact.scope, launch_template)
        if isinstance(template, LaunchTemplate):
            if template.instance_type.is_absent:
                if default_type:
                    return dearest([Value.literal(default_type)])
                return Price.unknown(f"launch template {launch_template} sets no instance type")
            return dearest([template.instance_type])
        return Price.unknown(f"its launch template {launch_template} is not in this scope")
    if default_type:
        return dearest([Value.literal(default_type)])
    return Price.unknown(
        "no launch template, configuration or override in this scope names its type"
    )


def _fleet_price(fact: Fleet, inventory: Inventory, units: float | None) -> tuple[Price, float]:
    """(price of one instance, instances) for the dearest way to fill the target capacity:
    each type alone needs ceil(target / weight) instances."""
    options = list(zip(fact.instance_types, fact.weights, strict=False))
    for address in fact.launch_templates:
        template = inventory.find(fact.scope, address)
        if isinstance(template, LaunchTemplate) and not template.instance_type.is_absent:
            options.append((template.instance_type, None))
        else:
            return Price.unknown(f"launch template {address} is not in this scope"), units
    if not options:
        return Price.unknown("the fleet names no instance type"), units
    if units is None:
        return dearest([t for t, _ in options]), units
    worst: tuple[float, float, Price] | None = None
    for value, weight in options:
        price = dearest([value])
        if price.usd is None:
            return price, units
        if weight is None and fact.unit_type != "units":
            return (
                Price.unknown(
                    f"target capacity is counted in {fact.unit}, and the weight of each type "
                    "is its own size, which the price table does not hold"
                ),
                units,
            )
        count = math.ceil(units / (weight or 1)) if weight != 0 else units
        if worst is None or count * price.usd > worst[0]:
            worst = (count * price.usd, count, price)
    assert worst is not None
    return worst[2], worst[1]


def _target_price(fact: ScalableTarget, inventory: Inventory) -> Price:
    namespace = (fact.namespace.text() or "").lower()
    dimension = fact.dimension.text() or ""
    linked = [inventory.find(fact.scope, ref) for ref in fact.refs]
    if namespace == "ecs":
        service = next((x for x in linked if isinstance(x, EcsService)), None)
        if service is None:
            return Price.unknown("its ECS service is not in this scope")
        return _task_price(service, inventory)
    if namespace == "sagemaker" and "DesiredInstanceCount" in dimension:
        endpoint = next((x for x in linked if isinstance(x, Endpoint)), None)
        config = inventory.find(fact.scope, endpoint.endpoint_config) if endpoint else None
        if not isinstance(config, EndpointConfig):
            return Price.unknown("its SageMaker endpoint configuration is not in this scope")
        variants = [v for v in config.variants if not fact.variant or v.name == fact.variant]
        if not variants:
            return Price.unknown(f"variant {fact.variant} is not in {config.address}")
        if any(v.serverless for v in variants):
            return Price.unknown("a serverless variant is billed per request, not per hour")
        return dearest([v.instance_type for v in variants], "sagemaker")
    if namespace == "dynamodb" and "CapacityUnits" in dimension:
        write = "WriteCapacityUnits" in dimension
        usd = prices.dynamodb_capacity_unit(write)
        kind = "write" if write else "read"
        return Price(usd, f"one provisioned {kind} capacity unit at ${_usd(usd)}/h")
    if namespace == "ec2" and any(isinstance(x, Fleet) for x in linked):
        return Price(0.0, "counted with its Spot Fleet")
    shown = namespace or "unresolved"
    return Price.unknown(
        f"the bundled price table has no price for {shown} capacity ({dimension or 'dimension'})"
    )


def _task_price(service: EcsService, inventory: Inventory) -> Price:
    """A Fargate task of the service's task size; tasks placed on EC2 instances cost
    nothing beyond those instances, which their own group accounts for."""
    task = inventory.find(service.scope, service.task_definition)
    launch = (service.launch_type.text() or "").upper()
    providers = [(p.text() or "").upper() for p in service.capacity_providers]
    if launch in ("EC2", "EXTERNAL") or (providers and not any("FARGATE" in p for p in providers)):
        return Price(0.0, "tasks run on the cluster's own instances, priced with them")
    fargate = launch == "FARGATE" or any("FARGATE" in p for p in providers)
    if not isinstance(task, TaskDefinition):
        if fargate:
            return Price.unknown("its task definition is not in this scope")
        return Price(0.0, "tasks run on the cluster's own instances, priced with them")
    if not fargate and task.compatibilities != ("FARGATE",):
        return Price(0.0, "tasks run on the cluster's own instances, priced with them")
    if (task.os_family.text() or "LINUX").upper() != "LINUX":
        return Price.unknown("Windows Fargate tasks are not in the bundled price table")
    vcpu = prices.task_vcpu(task.cpu.value) if task.cpu.kind == "literal" else None
    memory = prices.task_memory_gb(task.memory.value) if task.memory.kind == "literal" else None
    if vcpu is None or memory is None:
        bad = task.cpu if vcpu is None else task.memory
        return Price.unknown(f"its Fargate task size is unresolved: {bad.describe()}")
    arm = (task.cpu_architecture.text() or "").upper() == "ARM64"
    usd = prices.fargate(vcpu, memory, arm)
    return Price(
        usd,
        f"a Fargate task of {repr_value(vcpu)} vCPU and {repr_value(memory)} GB at ${_usd(usd)}/h",
    )


def _usd(amount: float) -> str:
    """A price as the table writes it: 2 to 6 decimals (2.00, 0.0832, 0.009875)."""
    whole, _, fraction = f"{amount:.6f}".partition(".")
    return f"{whole}.{fraction.rstrip('0').ljust(2, '0')}"
