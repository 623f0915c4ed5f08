"""The inventory: typed facts with locations, the one model every source builds.

A source (CloudFormation, Terraform HCL, a Terraform plan, a live account) turns its
input into these facts; rules read only these facts. An Auto Scaling group from a
template and one from `describe_auto_scaling_groups` are the same kind of fact.

A value is never just a number: it is a literal, a bound (the most it can be, from a
parameter's MaxValue or a variable's validation), absent, or unresolved with the
reason, so a rule can tell "no ceiling" from "a ceiling we cannot see".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

LITERAL = "literal"
BOUND = "bound"
UNRESOLVED = "unresolved"
ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a fact comes from: file/line/column for IaC, ARN/account/region for live."""

    file: str = ""  # repository-relative POSIX path ("" for a live resource)
    line: int = 0  # 1-based; 0 when unknown
    column: int = 0  # 1-based; 0 when unknown
    address: str = ""  # logical id, Terraform address or ARN
    account: str = ""
    region: str = ""

    def at(self, line: int, column: int = 0) -> Location:
        """The same resource, at another line and column."""
        return Location(self.file, line, column, self.address, self.account, self.region)

    def __str__(self) -> str:
        if self.file:
            if not self.line:
                return self.file
            return (
                f"{self.file}:{self.line}:{self.column}"
                if self.column
                else f"{self.file}:{self.line}"
            )
        parts = [p for p in (self.account, self.region, self.address) if p]
        return "/".join(parts)


@dataclass(frozen=True, slots=True)
class Value:
    """A configured value as far as static analysis can know it.

    kind is one of literal, bound, absent or unresolved. For a bound, `value` is the
    largest value it can take and `why` says where the bound comes from. For
    unresolved, `why` says what stopped us.
    """

    kind: str
    value: Any = None
    why: str = ""
    location: Location | None = None
    # Every value it can take, where that set is known and small (AllowedValues,
    # both branches of a condition); () when only the bound is known.
    choices: tuple = ()

    @staticmethod
    def literal(value: Any, location: Location | None = None, why: str = "") -> Value:
        return Value(LITERAL, value, why, location, (value,))

    @staticmethod
    def bound(value: Any, why: str, location: Location | None = None, choices: tuple = ()) -> Value:
        return Value(BOUND, value, why, location, choices)

    def at(self, location: Location | None) -> Value:
        """The same value, reported at another location (the attribute that uses it)."""
        return Value(self.kind, self.value, self.why, location, self.choices)

    @staticmethod
    def unresolved(why: str, location: Location | None = None) -> Value:
        return Value(UNRESOLVED, None, why, location)

    @staticmethod
    def absent(location: Location | None = None) -> Value:
        return Value(ABSENT, None, "not set", location)

    @property
    def is_known(self) -> bool:
        return self.kind in (LITERAL, BOUND)

    @property
    def is_absent(self) -> bool:
        return self.kind == ABSENT

    def number(self) -> float | None:
        """The largest numeric value this can take, or None when that is unknown."""
        if self.kind not in (LITERAL, BOUND):
            return None
        return as_number(self.value)

    def text(self) -> str | None:
        """The literal string, or None when the value is not a literal string."""
        if self.kind == LITERAL and isinstance(self.value, str | int | float):
            return str(self.value)
        return None

    def describe(self) -> str:
        """A short phrase for messages: '10', 'at most 10 (parameter P MaxValue)', ..."""
        if self.kind == LITERAL:
            return repr_value(self.value)
        if self.kind == BOUND:
            return f"at most {repr_value(self.value)} ({self.why})"
        if self.kind == ABSENT:
            return "not set"
        return f"unresolved ({self.why})"


def as_number(value: Any) -> float | None:
    """A number from an int, float or numeric string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def repr_value(value: Any) -> str:
    number = as_number(value)
    if number is not None and number == int(number):
        return str(int(number))
    return str(value)


@dataclass(frozen=True, slots=True)
class InlineSkip:
    """A suppression written next to the resource (CFN Metadata or a Terraform comment)."""

    rule: str
    reason: str
    expires: str = ""  # ISO date, "" for none
    location: Location | None = None


@dataclass(kw_only=True)
class Resource:
    """Common part of every fact: what it is and where it is declared."""

    address: str  # logical id, Terraform address or ARN
    type: str  # the source's own type name (AWS::..., aws_..., or the API's)
    location: Location  # the resource's declaration
    scope: str  # the unit the rules reason about: a template, a module dir, an account/region
    source: str  # cloudformation | terraform | terraform-plan | account
    skips: tuple[InlineSkip, ...] = ()
    tags: dict[str, Value] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return type(self).__name__


@dataclass(frozen=True, slots=True)
class InputError:
    """A file or resource that could not be read; reported, and fails the run."""

    file: str
    message: str
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True)
class Notice:
    """Something a user should know that is not a finding (a skipped file, a note)."""

    file: str
    message: str


F = TypeVar("F", bound=Resource)


@dataclass
class Inventory:
    """All facts of one scan, with the errors met while building them."""

    facts: list[Resource] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    files_scanned: list[str] = field(default_factory=list)
    _by_kind: dict[type, list[Resource]] = field(default_factory=dict, repr=False)
    _by_address: dict[tuple[str, str], Resource] = field(default_factory=dict, repr=False)

    def add(self, fact: Resource) -> None:
        self.facts.append(fact)
        self._by_address.setdefault((fact.scope, fact.address), fact)
        for cls in type(fact).__mro__:
            if cls is object:
                break
            self._by_kind.setdefault(cls, []).append(fact)

    def extend(self, facts: list[Resource]) -> None:
        for fact in facts:
            self.add(fact)

    def of(self, kind: type[F]) -> list[F]:
        """Every fact of this kind (subclasses included), in insertion order."""
        return self._by_kind.get(kind, [])  # type: ignore[return-value]

    def has(self, kind: type) -> bool:
        return bool(self._by_kind.get(kind))

    def scopes(self) -> list[str]:
        return sorted({fact.scope for fact in self.facts})

    def in_scope(self, kind: type[F], scope: str) -> Iterator[F]:
        return (fact for fact in self.of(kind) if fact.scope == scope)

    def find(self, scope: str, address: str) -> Resource | None:
        """The fact with this address in this scope (first added), if any."""
        return self._by_address.get((scope, address))


# ---- facts of the scaling family -------------------------------------------------
#
# Everything that can multiply instances, tasks or capacity units is a `Scaler`: its
# `maximum()` is the ceiling CB101-CB104 check, and the worst-case burn rate (CB107) is
# that maximum times the price of one unit. What one unit is differs per kind, so each
# fact carries what is needed to price it (instance types, or the address of the launch
# template, task definition or endpoint it uses); the rule links addresses within the
# scope, so sources never need to know about prices.


@dataclass(kw_only=True)
class Scaler(Resource):
    """Common part of every fact whose capacity scales up to a maximum."""

    # How many copies of the resource exist: Terraform `count`/`for_each` (literal 1
    # when neither is set, and for every source that has no such thing).
    copies: Value = field(default_factory=lambda: Value.literal(1))

    def maximum(self) -> Value:
        """The most units this resource can run at once (one copy)."""
        raise NotImplementedError


@dataclass(kw_only=True)
class AutoScalingGroup(Scaler):
    """An EC2 Auto Scaling group: the classic thing that scales with a loop's load."""

    max_size: Value
    min_size: Value = field(default_factory=Value.absent)
    desired_capacity: Value = field(default_factory=Value.absent)
    # Instance types the group can launch (for burn rate); filled where they resolve.
    instance_types: list[Value] = field(default_factory=list)
    launch_template: str = ""  # address of a launch template/configuration in scope
    # False when the tags are computed (a condition, a merge, a dynamic block), so a
    # missing ceiling tag cannot be told from a tag we cannot see.
    tags_known: bool = True

    def maximum(self) -> Value:
        return self.max_size


@dataclass(kw_only=True)
class CeilingLift(Resource):
    """Something that can raise a group's maximum later (scheduled action, warm pool,
    update policy). `group` is the address of the group in scope, when it resolves."""

    group: str
    mechanism: str  # "scheduled action" | "warm pool" | "update policy"
    max_value: Value
    # The configured ceiling the lifted value is held to, and what it counts: an
    # Application Auto Scaling scheduled action lifts a target, not a group.
    ceiling_key: str = "asg_max_size"
    unit: str = "instances"


@dataclass(kw_only=True)
class LaunchTemplate(Resource):
    """A launch template or launch configuration: the instance type it launches.

    `instance_type` is absent when the template leaves it to the group or fleet, and
    unresolved when the template selects types by attributes (InstanceRequirements).
    """

    instance_type: Value


@dataclass(kw_only=True)
class NodeGroup(Scaler):
    """An EKS managed node group (`ScalingConfig` / `scaling_config`)."""

    max_size: Value
    min_size: Value = field(default_factory=Value.absent)
    desired_size: Value = field(default_factory=Value.absent)
    instance_types: list[Value] = field(default_factory=list)
    launch_template: str = ""
    capacity_type: Value = field(default_factory=Value.absent)  # ON_DEMAND | SPOT
    tags_known: bool = True

    def maximum(self) -> Value:
        return self.max_size


@dataclass(kw_only=True)
class Fleet(Scaler):
    """An EC2 Fleet or a Spot Fleet request, with its total target capacity.

    Target capacity is counted in `unit_type` (units, vcpu or memory-mib). Each
    instance type the fleet may launch is in `instance_types`, with its weighted
    capacity in `weights` at the same index (None: weight 1, or the type's own vCPUs or
    memory when the unit is vcpu or memory-mib). Launch templates the fleet uses without
    overrides are in `launch_templates`.
    """

    fleet_kind: str  # "EC2 Fleet" | "Spot Fleet"
    target_capacity: Value
    unit_type: str = "units"
    instance_types: list[Value] = field(default_factory=list)
    weights: list[float | None] = field(default_factory=list)
    launch_templates: list[str] = field(default_factory=list)

    def maximum(self) -> Value:
        return self.target_capacity

    @property
    def unit(self) -> str:
        """What the target capacity counts, for messages."""
        return {"vcpu": "vCPUs", "memory-mib": "MiB"}.get(self.unit_type, "capacity units")


@dataclass(kw_only=True)
class Instances(Scaler):
    """EC2 instances declared directly: Terraform `aws_instance`, as many as its
    `count`/`for_each` makes (`copies`), or one per planned instance in a plan."""

    instance_type: Value
    launch_template: str = ""
    counted: str = ""  # "count" or "for_each" when one of them is set

    def maximum(self) -> Value:
        return Value.literal(1, self.location)


@dataclass(kw_only=True)
class ScalableTarget(Scaler):
    """An Application Auto Scaling target: any `ServiceNamespace`, any dimension.

    `refs` are the addresses of resources in scope that `ResourceId` names (the ECS
    service, SageMaker endpoint, DynamoDB table, ...); `variant` is the SageMaker
    variant name when it can be read from the ResourceId.
    """

    namespace: Value
    dimension: Value
    max_capacity: Value
    min_capacity: Value = field(default_factory=Value.absent)
    resource_id: Value = field(default_factory=Value.absent)
    refs: tuple[str, ...] = ()
    variant: str = ""

    def maximum(self) -> Value:
        return self.max_capacity


@dataclass(kw_only=True)
class EcsService(Resource):
    """An ECS service: how its tasks are placed (Fargate or the cluster's instances)."""

    task_definition: str  # address in scope, "" when not resolved
    launch_type: Value = field(default_factory=Value.absent)
    capacity_providers: list[Value] = field(default_factory=list)
    desired_count: Value = field(default_factory=Value.absent)


@dataclass(kw_only=True)
class TaskDefinition(Resource):
    """An ECS task definition: the task size that Fargate bills for."""

    cpu: Value  # CPU units (1024 = 1 vCPU) or "1 vCPU"
    memory: Value  # MiB or "2 GB"
    compatibilities: tuple[str, ...] = ()  # RequiresCompatibilities, upper case
    cpu_architecture: Value = field(default_factory=Value.absent)  # X86_64 | ARM64
    os_family: Value = field(default_factory=Value.absent)


@dataclass(frozen=True, slots=True)
class EndpointVariant:
    """One production variant of a SageMaker endpoint configuration."""

    name: str
    instance_type: Value
    initial_count: Value
    serverless: bool = False


@dataclass(kw_only=True)
class EndpointConfig(Resource):
    """A SageMaker endpoint configuration and its production variants."""

    variants: list[EndpointVariant] = field(default_factory=list)


@dataclass(kw_only=True)
class Endpoint(Resource):
    """A SageMaker endpoint; `endpoint_config` is the configuration's address in scope."""

    endpoint_config: str = ""
