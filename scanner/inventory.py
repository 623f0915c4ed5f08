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


@dataclass(kw_only=True)
class AutoScalingGroup(Resource):
    """An EC2 Auto Scaling group: the classic thing that scales with a loop's load."""

    max_size: Value
    min_size: Value = field(default_factory=Value.absent)
    desired_capacity: Value = field(default_factory=Value.absent)
    # Instance types the group can launch (for burn rate); filled where they resolve.
    instance_types: list[Value] = field(default_factory=list)
    launch_template: str = ""  # address of a launch template/configuration in scope


@dataclass(kw_only=True)
class CeilingLift(Resource):
    """Something that can raise a group's maximum later (scheduled action, warm pool,
    update policy). `group` is the address of the group in scope, when it resolves."""

    group: str
    mechanism: str  # "scheduled action" | "warm pool" | "update policy"
    max_value: Value
