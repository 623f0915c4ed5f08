"""Which adapter turns which Terraform resource type into inventory facts.

Adapters take a `TfResource` (HCL or plan alike). Data sources register with their
type prefixed by `data.`, for example `data.aws_iam_policy_document`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from costbreaker.inventory import Resource
from costbreaker.sources.terraform.model import TfResource

Adapter = Callable[[TfResource], Iterable[Resource]]
ADAPTERS: dict[str, list[Adapter]] = {}


def adapter(*types: str) -> Callable[[Adapter], Adapter]:
    """Register a function that builds facts from resources of these types."""

    def register(func: Adapter) -> Adapter:
        for resource_type in types:
            ADAPTERS.setdefault(resource_type, []).append(func)
        return func

    return register
