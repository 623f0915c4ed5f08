"""One view of a Terraform resource, whether it comes from HCL or from a plan.

Adapters ask a resource for `value("max_size")`, `blocks("tag")` or
`reference("autoscaling_group_name")` and need not know which of the two it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from costbreaker.inventory import InlineSkip, Location, Value
from costbreaker.sources.terraform.hcl import Block, Evaluator, Unknown, _ref_of, to_value


class HclNode:
    """A block body from HCL source, evaluated in its module's scope."""

    def __init__(self, block: Block, evaluator: Evaluator, address: str) -> None:
        self.block = block
        self.evaluator = evaluator
        self.address = address

    def where(self, name: str) -> Location:
        attr = self.block.attrs.get(name)
        if attr is not None:
            return Location(self.block.file, attr.line, attr.column, self.address)
        return Location(self.block.file, self.block.line, self.block.column, self.address)

    def has(self, name: str) -> bool:
        return name in self.block.attrs

    def raw(self, name: str) -> Any:
        attr = self.block.attrs.get(name)
        return None if attr is None else self.evaluator.evaluate(attr.expr)

    def value(self, name: str) -> Value:
        attr = self.block.attrs.get(name)
        if attr is None:
            return Value.absent(self.where(name))
        return to_value(self.evaluator.evaluate(attr.expr), self.where(name))

    def blocks(self, name: str) -> list[HclNode]:
        return [HclNode(b, self.evaluator, self.address) for b in self.block.children(name)]

    def reference(self, name: str) -> str:
        attr = self.block.attrs.get(name)
        if attr is None:
            return ""
        result = self.evaluator.evaluate(attr.expr)
        if isinstance(result, Unknown) and result.ref:
            return result.ref
        return _ref_of(attr.expr)


class PlanNode:
    """A resource's planned values from `terraform show -json`."""

    def __init__(
        self,
        values: dict,
        unknown: Any,
        references: dict[str, list[str]],
        location: Location,
        region: Value | None = None,
    ) -> None:
        self.values = values if isinstance(values, dict) else {}
        self.unknown = unknown if isinstance(unknown, dict) else {}
        self.references = references
        self.location = location
        # The region of the provider configuration the resource uses, from the plan's
        # configuration section (None when the plan does not tell).
        self.region = region

    def where(self, name: str) -> Location:
        return self.location

    def has(self, name: str) -> bool:
        return name in self.values or name in self.unknown

    def raw(self, name: str) -> Any:
        if self.unknown.get(name) is True:
            return Unknown("known only after apply")
        return self.values.get(name)

    def value(self, name: str) -> Value:
        if self.unknown.get(name) is True:
            return Value.unresolved("known only after apply", self.location)
        if name not in self.values or self.values[name] is None:
            return Value.absent(self.location)
        return Value.literal(self.values[name], self.location)

    def blocks(self, name: str) -> list[PlanNode]:
        items = self.values.get(name)
        unknown = self.unknown.get(name)
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            return []
        result = []
        for index, item in enumerate(items):
            sub_unknown = (
                unknown[index] if isinstance(unknown, list) and index < len(unknown) else {}
            )
            result.append(PlanNode(item, sub_unknown, {}, self.location))
        return result

    def reference(self, name: str) -> str:
        for ref in self.references.get(name, []):
            parts = ref.split(".")
            if parts[0] == "data" and len(parts) >= 3:
                return ".".join(parts[:3])
            if parts[0] not in ("var", "local", "each", "count", "module") and len(parts) >= 2:
                return ".".join(parts[:2])
        return ""


@dataclass
class TfResource:
    """A `resource` or `data` block (or its planned values) with what adapters need."""

    address: str
    type: str
    mode: str  # managed | data
    location: Location
    scope: str
    source: str  # terraform | terraform-plan
    node: HclNode | PlanNode
    skips: tuple[InlineSkip, ...] = ()
    count: Value = field(default_factory=Value.absent)  # count / for_each, where set

    def value(self, name: str) -> Value:
        return self.node.value(name)

    def raw(self, name: str) -> Any:
        return self.node.raw(name)

    def blocks(self, name: str) -> list:
        return self.node.blocks(name)

    def reference(self, name: str) -> str:
        return self.node.reference(name)

    def where(self, name: str) -> Location:
        return self.node.where(name)

    def tags(self) -> dict[str, Value]:
        tags: dict[str, Value] = {}
        raw = self.node.raw("tags")
        if isinstance(raw, dict):
            where = self.node.where("tags")
            for key, value in raw.items():
                tags[str(key)] = to_value(value, where)
        for block in self.node.blocks("tag"):
            key = block.value("key")
            if key.kind == "literal":
                tags[str(key.value)] = block.value("value")
        return tags

    def common(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "type": self.type,
            "location": self.location,
            "scope": self.scope,
            "source": self.source,
            "skips": self.skips,
            "tags": self.tags(),
        }
