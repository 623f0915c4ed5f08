"""Which adapter turns which CloudFormation resource type into inventory facts.

Each rule family keeps its adapters in a module of its own in this package and
registers them here with `@adapter("AWS::...")`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from costbreaker.inventory import Resource
from costbreaker.sources.cloudformation.template import CfnResource

Adapter = Callable[[CfnResource], Iterable[Resource]]
ADAPTERS: dict[str, list[Adapter]] = {}


def adapter(*types: str) -> Callable[[Adapter], Adapter]:
    """Register a function that builds facts from resources of these types."""

    def register(func: Adapter) -> Adapter:
        for resource_type in types:
            ADAPTERS.setdefault(resource_type, []).append(func)
        return func

    return register
