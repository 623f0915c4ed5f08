"""Terraform source: HCL modules (one scope per folder) and `terraform show -json` plans.

HCL files of one folder form a module: variables and locals are shared between them,
and each `resource`/`data` block becomes a `TfResource` that the adapters of each rule
family turn into facts. A plan's planned values (root and child modules) are mapped
back to their addresses; values known only after apply stay unresolved.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import PurePosixPath

from costbreaker.inventory import InlineSkip, InputError, Inventory, Location, Value
from costbreaker.sources.files import SourceFile
from costbreaker.sources.terraform import guards, scaling  # noqa: F401  (registers adapters)
from costbreaker.sources.terraform.hcl import (
    Block,
    Evaluator,
    HclSyntaxError,
    Scope,
    parse,
    to_value,
)
from costbreaker.sources.terraform.model import HclNode, PlanNode, TfResource
from costbreaker.sources.terraform.registry import ADAPTERS

__all__ = ["load_modules", "load_plan", "TfResource"]

_SKIP = re.compile(
    r"(?:#|//|/\*)\s*costbreaker:skip=(?P<rules>[A-Za-z0-9*,]+)"
    r"(?:\s+expires=(?P<expires>\d{4}-\d{2}-\d{2}))?\s*(?P<reason>.*?)\s*(?:\*/)?\s*$"
)


def load_modules(sources: list[SourceFile], inventory: Inventory) -> None:
    """Parse .tf files, grouped by folder into modules, and add their facts."""
    by_dir: dict[str, list[SourceFile]] = defaultdict(list)
    for source in sources:
        by_dir[str(PurePosixPath(source.display).parent)].append(source)
    for directory in sorted(by_dir):
        _load_module(directory, by_dir[directory], inventory)


def _load_module(directory: str, sources: list[SourceFile], inventory: Inventory) -> None:
    scope = Scope()
    parsed: list[tuple[SourceFile, list[Block]]] = []
    for source in sources:
        try:
            blocks = parse(source.text, source.display)
        except HclSyntaxError as exc:
            inventory.errors.append(InputError(source.display, str(exc), exc.line, exc.column))
            continue
        except Exception as exc:  # the parser may fail in ways it does not document
            inventory.errors.append(
                InputError(source.display, f"cannot parse HCL: {type(exc).__name__}: {exc}")
            )
            continue
        inventory.files_scanned.append(source.display)
        parsed.append((source, blocks))
        for block in blocks:
            if block.type == "variable" and block.labels:
                scope.variables[block.labels[0]] = block
            elif block.type == "locals":
                scope.locals.update(block.attrs)
            elif block.type == "provider":
                scope.providers.append(block)
            elif (
                block.type == "data"
                and len(block.labels) >= 2
                and block.labels[0] == "aws_iam_policy_document"
            ):
                scope.documents[f"data.aws_iam_policy_document.{block.labels[1]}"] = block
    evaluator = Evaluator(scope)
    for source, blocks in parsed:
        lines = source.text.splitlines()
        for block in blocks:
            if block.type not in ("resource", "data") or len(block.labels) < 2:
                continue
            rtype, name = block.labels[0], block.labels[1]
            address = f"{rtype}.{name}" if block.type == "resource" else f"data.{rtype}.{name}"
            key = rtype if block.type == "resource" else f"data.{rtype}"
            handlers = ADAPTERS.get(key)
            skips, problems = _comment_skips(lines, block, source.display, address)
            for line, problem in problems:
                inventory.errors.append(InputError(source.display, problem, line))
            if not handlers:
                continue
            node = HclNode(block, evaluator, address)
            count = Value.absent()
            for meta in ("count", "for_each"):
                if meta in block.attrs:
                    count = to_value(evaluator.evaluate(block.attrs[meta].expr), node.where(meta))
            resource = TfResource(
                address=address,
                type=rtype,
                mode="managed" if block.type == "resource" else "data",
                location=Location(source.display, block.line, block.column, address),
                scope=directory,
                source="terraform",
                node=node,
                skips=skips,
                count=count,
            )
            _run(handlers, resource, inventory, source.display, block.line)


def _run(handlers, resource: TfResource, inventory: Inventory, file: str, line: int) -> None:
    for handler in handlers:
        try:
            inventory.extend(list(handler(resource)))
        except Exception as exc:  # one odd resource must not stop the scan
            inventory.errors.append(
                InputError(
                    file,
                    f"resource {resource.address} could not be analysed: "
                    f"{type(exc).__name__}: {exc}",
                    line,
                )
            )


def _comment_skips(
    lines: list[str], block: Block, file: str, address: str
) -> tuple[tuple[InlineSkip, ...], list[tuple[int, str]]]:
    """`# costbreaker:skip=CB101 [expires=YYYY-MM-DD] reason` inside the block or in
    the comment lines directly above it."""
    first = block.line - 1  # 0-based index of the block's first line
    start = first
    while start > 0 and lines[start - 1].lstrip().startswith(("#", "//", "/*", "*")):
        start -= 1
    skips: list[InlineSkip] = []
    problems: list[tuple[int, str]] = []
    for index in range(start, min(block.end_line, len(lines))):
        text = lines[index]
        if "costbreaker:skip" not in text:
            continue
        match = _SKIP.search(text)
        if match is None:
            problems.append(
                (
                    index + 1,
                    f"{address}: cannot read the suppression comment; write "
                    "'# costbreaker:skip=CB101 [expires=YYYY-MM-DD] reason'",
                )
            )
            continue
        where = Location(file, index + 1, text.find("costbreaker:skip") + 1, address)
        for rule_id in match.group("rules").split(","):
            if rule_id:
                skips.append(
                    InlineSkip(
                        rule=rule_id.upper(),
                        reason=match.group("reason"),
                        expires=match.group("expires") or "",
                        location=where,
                    )
                )
    return tuple(skips), problems


# ---- plans -----------------------------------------------------------------------------


def load_plan(source: SourceFile, inventory: Inventory) -> None:
    """Facts from a `terraform show -json` plan: planned values, root and child modules."""
    try:
        plan = json.loads(source.text)
    except json.JSONDecodeError as exc:
        inventory.errors.append(
            InputError(source.display, f"not valid JSON: {exc.msg}", exc.lineno, exc.colno)
        )
        return
    except RecursionError:
        inventory.errors.append(InputError(source.display, "plan is nested too deeply"))
        return
    if not isinstance(plan, dict):
        inventory.errors.append(InputError(source.display, "a plan must be a JSON object"))
        return
    inventory.files_scanned.append(source.display)
    try:
        _plan_facts(plan, source, inventory)
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        # Terraform writes these files; a shape it never writes is a damaged input.
        inventory.errors.append(
            InputError(
                source.display,
                "the plan does not have the structure of 'terraform show -json' output "
                f"({type(exc).__name__}: {exc}); regenerate it with terraform show -json",
            )
        )


def _plan_facts(plan: dict, source: SourceFile, inventory: Inventory) -> None:
    unknown_by_address: dict[str, dict] = {}
    for change in plan.get("resource_changes") or []:
        if isinstance(change, dict) and isinstance(change.get("change"), dict):
            unknown = change["change"].get("after_unknown")
            if isinstance(unknown, dict):
                unknown_by_address[str(change.get("address"))] = unknown
    references = _references(plan.get("configuration"))
    regions = _provider_regions(plan, source)
    root = (plan.get("planned_values") or {}).get("root_module") or {}
    for resource in _walk_modules(root):
        address = str(resource.get("address", ""))
        rtype = str(resource.get("type", ""))
        mode = str(resource.get("mode", "managed"))
        key = rtype if mode == "managed" else f"data.{rtype}"
        handlers = ADAPTERS.get(key)
        if not handlers:
            continue
        line = _line_of(source.text, address)
        location = Location(source.display, line, 0, address)
        config_address = re.sub(r"\[[^\]]*\]", "", address)
        node = PlanNode(
            resource.get("values") or {},
            unknown_by_address.get(address, {}),
            references.get(config_address, {}),
            location,
            regions.get(config_address) if regions else None,
        )
        tf = TfResource(
            address=address,
            type=rtype,
            mode=mode,
            location=location,
            scope=source.display,
            source="terraform-plan",
            node=node,
        )
        _run(handlers, tf, inventory, source.display, line)


def _walk_modules(module: dict):
    for resource in module.get("resources") or []:
        if isinstance(resource, dict):
            yield resource
    for child in module.get("child_modules") or []:
        if isinstance(child, dict):
            yield from _walk_modules(child)


def _configured_resources(configuration: object) -> Iterator[tuple[str, dict, bool]]:
    """(address, resource, in a child module) for every resource of a plan's
    configuration section, child modules' addresses prefixed with `module.NAME.`."""

    def walk(module: object, prefix: str) -> Iterator[tuple[str, dict, bool]]:
        if not isinstance(module, dict):
            return
        for resource in module.get("resources") or []:
            if isinstance(resource, dict):
                yield prefix + str(resource.get("address", "")), resource, bool(prefix)
        for name, call in (module.get("module_calls") or {}).items():
            if isinstance(call, dict):
                yield from walk(call.get("module"), f"{prefix}module.{name}.")

    if isinstance(configuration, dict):
        yield from walk(configuration.get("root_module"), "")


def _references(configuration: object) -> dict[str, dict[str, list[str]]]:
    """address → attribute → references, from the plan's configuration section."""
    found: dict[str, dict[str, list[str]]] = {}
    for address, resource, _ in _configured_resources(configuration):
        expressions = resource.get("expressions") or {}
        found[address] = {
            name: _expression_references(expr)
            for name, expr in expressions.items()
            if isinstance(expr, dict | list)
        }
    return found


def _provider_regions(plan: dict, source: SourceFile) -> dict[str, Value]:
    """Configuration address → region of the AWS provider configuration it uses.

    Planned values do not say where a resource is deployed; the configuration section
    does: `provider_config` holds each provider configuration (`aws`, `aws.east`,
    `module.m:aws`) with its `region` expression, and each configured resource names its
    configuration in `provider_config_key`. A constant region is known; one from a root
    variable is read from the plan's variables; anything else is unresolved; no region
    (or no configuration for the key) is absent, as in HCL without a region."""
    configuration = plan.get("configuration")
    if not isinstance(configuration, dict):
        return {}
    providers = configuration.get("provider_config")
    if not isinstance(providers, dict) or not providers:
        return {}
    variables = plan.get("variables") if isinstance(plan.get("variables"), dict) else {}
    by_key: dict[str, Value] = {}
    for key, provider in providers.items():
        if not isinstance(provider, dict) or provider.get("name", "aws") != "aws":
            continue
        expressions = provider.get("expressions")
        expr = expressions.get("region") if isinstance(expressions, dict) else None
        if not isinstance(expr, dict):
            continue
        where = Location(source.display, _line_of_region(source.text, str(key)), 0)
        if isinstance(expr.get("constant_value"), str):
            by_key[key] = Value.literal(expr["constant_value"], where)
            continue
        refs = expr.get("references")
        refs = [str(r) for r in refs] if isinstance(refs, list) else []
        variable = refs[0][4:] if len(refs) == 1 and refs[0].startswith("var.") else ""
        given = variables.get(variable) if variable and not provider.get("module_address") else None
        if isinstance(given, dict) and isinstance(given.get("value"), str):
            by_key[key] = Value.literal(given["value"], where)
        else:
            shown = ", ".join(refs) or "an expression"
            by_key[key] = Value.unresolved(f"the provider's region is {shown}", where)
    if not by_key:
        return {}
    found: dict[str, Value] = {}
    for address, resource, in_child in _configured_resources(configuration):
        key = resource.get("provider_config_key") or ("" if in_child else "aws")
        if isinstance(key, str) and key in by_key:
            found[address] = by_key[key]
    return found


def _line_of_region(text: str, key: str) -> int:
    """Line of a provider configuration's `region` in the plan file (0 when not found)."""
    start = text.find('"provider_config"')
    if start < 0:
        return 0
    for pattern in (f'"{key}":', f'"{key}" :'):
        at = text.find(pattern, start)
        if at >= 0:
            region = text.find('"region"', at)
            return text.count("\n", 0, region) + 1 if region >= 0 else 0
    return 0


def _expression_references(expr: object) -> list[str]:
    """An attribute's references; for a nested block (a list of bodies), every reference
    inside it, in order."""
    if isinstance(expr, dict):
        if "references" in expr or "constant_value" in expr:
            refs = expr.get("references")
            return [ref for ref in refs if isinstance(ref, str)] if isinstance(refs, list) else []
        return [ref for inner in expr.values() for ref in _expression_references(inner)]
    if isinstance(expr, list):
        return [ref for inner in expr for ref in _expression_references(inner)]
    return []


def _line_of(text: str, address: str) -> int:
    """Line of the resource's entry in the plan file (1 for a one-line plan)."""
    index = text.find(f'"address": "{address}"')
    if index < 0:
        index = text.find(f'"address":"{address}"')
    return text.count("\n", 0, index) + 1 if index >= 0 else 1
