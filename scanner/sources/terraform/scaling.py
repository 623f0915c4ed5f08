"""Terraform adapters for the scaling family: everything that scales, what can lift its
ceiling, and what prices one unit of it (launch templates, task definitions, SageMaker
endpoint configurations). HCL and plan alike, through `TfResource`.

`count` and `for_each` multiply a resource: they become the fact's `copies`, bounded
when the value is literal, a bounded variable, or the length of a variable whose
validation bounds its length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from costbreaker.inventory import (
    AutoScalingGroup,
    CeilingLift,
    EcsService,
    Endpoint,
    EndpointConfig,
    EndpointVariant,
    Fleet,
    Instances,
    LaunchTemplate,
    NodeGroup,
    Resource,
    ScalableTarget,
    TaskDefinition,
    Value,
    as_number,
)
from costbreaker.sources.terraform.hcl import (
    Evaluator,
    _is_noise,
    _label,
    _path_of,
    _ref_of,
    _unwrap,
    to_value,
)
from costbreaker.sources.terraform.model import HclNode, PlanNode, TfResource
from costbreaker.sources.terraform.registry import adapter


@adapter("aws_autoscaling_group")
def auto_scaling_group(res: TfResource) -> Iterator[Resource]:
    instance_types = []
    launch = ""
    for policy in res.blocks("mixed_instances_policy"):
        for template in policy.blocks("launch_template"):
            for override in template.blocks("override"):
                if override.has("instance_type"):
                    instance_types.append(override.value("instance_type"))
                elif override.blocks("instance_requirements"):
                    instance_types.append(_by_attributes(override))
            for spec in template.blocks("launch_template_specification"):
                launch = (
                    launch
                    or spec.reference("launch_template_id")
                    or spec.reference("launch_template_name")
                )
    for template in res.blocks("launch_template"):
        launch = launch or template.reference("id") or template.reference("name")
    launch = launch or res.reference("launch_configuration") or _block_reference(res)
    yield AutoScalingGroup(
        **scaler_common(res),
        max_size=res.value("max_size"),
        min_size=res.value("min_size"),
        desired_capacity=res.value("desired_capacity"),
        instance_types=instance_types,
        launch_template=launch,
        tags_known=_tags_known(res),
    )
    for pool in res.blocks("warm_pool"):
        prepared = pool.value("max_group_prepared_capacity")
        if prepared.is_absent or prepared.number() == -1:
            continue
        yield CeilingLift(
            **{**res.common(), "location": pool.where("max_group_prepared_capacity")},
            group=res.address,
            mechanism="warm pool",
            max_value=prepared,
        )


@adapter("aws_autoscaling_schedule")
def scheduled_action(res: TfResource) -> Iterator[Resource]:
    max_size = res.value("max_size")
    if max_size.is_absent or max_size.number() == -1:
        return  # -1 leaves the group's maximum as it is
    yield CeilingLift(
        **res.common(),
        group=res.reference("autoscaling_group_name"),
        mechanism="scheduled action",
        max_value=max_size,
    )


# ---- launch templates and configurations ------------------------------------------------


@adapter("aws_launch_template")
def launch_template(res: TfResource) -> Iterator[Resource]:
    if not res.node.has("instance_type") and res.blocks("instance_requirements"):
        instance_type = _by_attributes(res.node)
    else:
        instance_type = res.value("instance_type")
    yield LaunchTemplate(**res.common(), instance_type=instance_type)


@adapter("aws_launch_configuration")
def launch_configuration(res: TfResource) -> Iterator[Resource]:
    yield LaunchTemplate(**res.common(), instance_type=res.value("instance_type"))


# ---- EKS node groups, fleets and counted instances --------------------------------------


@adapter("aws_eks_node_group")
def node_group(res: TfResource) -> Iterator[Resource]:
    configs = res.blocks("scaling_config")
    if configs:
        config = configs[0]
        max_size = config.value("max_size")
        min_size, desired = config.value("min_size"), config.value("desired_size")
    else:
        max_size = Value.unresolved("scaling_config is not set", res.location)
        min_size = desired = Value.absent(res.location)
    launch = ""
    for template in res.blocks("launch_template"):
        launch = template.reference("id") or template.reference("name")
    launch = launch or _block_reference(res, "launch_template")
    yield NodeGroup(
        **scaler_common(res),
        max_size=max_size,
        min_size=min_size,
        desired_size=desired,
        instance_types=_list_values(res.node, "instance_types"),
        launch_template=launch,
        capacity_type=res.value("capacity_type"),
        tags_known=_tags_known(res),
    )


@adapter("aws_ec2_fleet")
def ec2_fleet(res: TfResource) -> Iterator[Resource]:
    specs = res.blocks("target_capacity_specification")
    spec = specs[0] if specs else None
    target = (
        spec.value("total_target_capacity")
        if spec is not None
        else Value.absent(res.where("target_capacity_specification"))
    )
    unit = spec.value("target_capacity_unit_type").text() if spec is not None else None
    yield _fleet(res, "EC2 Fleet", target, unit)


@adapter("aws_spot_fleet_request")
def spot_fleet(res: TfResource) -> Iterator[Resource]:
    unit = res.value("target_capacity_unit_type").text()
    yield _fleet(res, "Spot Fleet", res.value("target_capacity"), unit)


def _fleet(res: TfResource, kind: str, target: Value, unit: str | None) -> Fleet:
    types: list[Value] = []
    weights: list[float | None] = []
    templates: list[str] = []
    for config in res.blocks("launch_template_config"):
        template = ""
        for spec in config.blocks("launch_template_specification"):
            template = (
                spec.reference("launch_template_id")
                or spec.reference("id")
                or spec.reference("launch_template_name")
                or spec.reference("name")
            )
        if not template and len(res.blocks("launch_template_config")) == 1:
            template = _block_reference(res, "launch_template_config")
        overrides = config.blocks("override") or config.blocks("overrides")
        for override in overrides:
            if override.has("instance_type"):
                types.append(override.value("instance_type"))
            else:
                types.append(_by_attributes(override))
            weights.append(override.value("weighted_capacity").number())
        if not overrides:
            if template:
                templates.append(template)
            else:
                types.append(
                    Value.unresolved("a launch template outside this module", res.location)
                )
                weights.append(None)
    for spec in res.blocks("launch_specification"):
        types.append(spec.value("instance_type"))
        weights.append(spec.value("weighted_capacity").number())
    return Fleet(
        **scaler_common(res),
        fleet_kind=kind,
        target_capacity=target,
        unit_type=unit or "units",
        instance_types=types,
        weights=weights,
        launch_templates=templates,
    )


@adapter("aws_instance")
def instances(res: TfResource) -> Iterator[Resource]:
    launch = ""
    for template in res.blocks("launch_template"):
        launch = template.reference("id") or template.reference("name")
    launch = launch or _block_reference(res, "launch_template")
    yield Instances(
        **scaler_common(res),
        instance_type=res.value("instance_type"),
        launch_template=launch,
        counted=_meta_argument(res),
    )


# ---- Application Auto Scaling -----------------------------------------------------------


@adapter("aws_appautoscaling_target")
def scalable_target(res: TfResource) -> Iterator[Resource]:
    yield ScalableTarget(
        **scaler_common(res),
        namespace=res.value("service_namespace"),
        dimension=res.value("scalable_dimension"),
        max_capacity=res.value("max_capacity"),
        min_capacity=res.value("min_capacity"),
        resource_id=res.value("resource_id"),
        refs=references(res, "resource_id"),
        variant=_variant(_text_of(res, "resource_id")),
    )


@adapter("aws_appautoscaling_scheduled_action")
def target_scheduled_action(res: TfResource) -> Iterator[Resource]:
    for action in res.blocks("scalable_target_action"):
        max_capacity = action.value("max_capacity")
        if max_capacity.is_absent:
            continue
        yield CeilingLift(
            **{**res.common(), "location": action.where("max_capacity")},
            group=res.reference("resource_id"),
            mechanism="scheduled action",
            max_value=max_capacity,
            ceiling_key="scalable_target_max_capacity",
            unit="capacity units",
        )


# ---- what prices one unit: ECS tasks and SageMaker variants ------------------------------


@adapter("aws_ecs_service")
def ecs_service(res: TfResource) -> Iterator[Resource]:
    yield EcsService(
        **res.common(),
        task_definition=res.reference("task_definition"),
        launch_type=res.value("launch_type"),
        capacity_providers=[
            block.value("capacity_provider") for block in res.blocks("capacity_provider_strategy")
        ],
        desired_count=res.value("desired_count"),
    )


@adapter("aws_ecs_task_definition")
def task_definition(res: TfResource) -> Iterator[Resource]:
    required = res.raw("requires_compatibilities")
    compatibilities = tuple(
        str(item).upper() for item in (required if isinstance(required, list) else [])
    )
    platforms = res.blocks("runtime_platform")
    platform = platforms[0] if platforms else None
    yield TaskDefinition(
        **res.common(),
        cpu=res.value("cpu"),
        memory=res.value("memory"),
        compatibilities=compatibilities,
        cpu_architecture=platform.value("cpu_architecture") if platform else Value.absent(),
        os_family=platform.value("operating_system_family") if platform else Value.absent(),
    )


@adapter("aws_sagemaker_endpoint_configuration")
def endpoint_config(res: TfResource) -> Iterator[Resource]:
    variants = []
    for block in res.blocks("production_variants"):
        name = block.value("variant_name")
        variants.append(
            EndpointVariant(
                name=str(name.value) if name.kind == "literal" else "",
                instance_type=block.value("instance_type"),
                initial_count=block.value("initial_instance_count"),
                serverless=bool(block.blocks("serverless_config")),
            )
        )
    yield EndpointConfig(**res.common(), variants=variants)


@adapter("aws_sagemaker_endpoint")
def endpoint(res: TfResource) -> Iterator[Resource]:
    yield Endpoint(**res.common(), endpoint_config=res.reference("endpoint_config_name"))


# ---- count and for_each ------------------------------------------------------------------


def scaler_common(res: TfResource) -> dict[str, Any]:
    """`common()` plus how many copies `count`/`for_each` makes."""
    return {**res.common(), "copies": copies(res)}


def copies(res: TfResource) -> Value:
    """How many copies of the resource exist, as far as it can be bounded."""
    count = res.count
    if count.is_absent:
        return Value.literal(1, res.location)
    if count.kind == "literal" and isinstance(count.value, list | dict):
        return Value.literal(len(count.value), count.location)
    if count.number() is not None:
        return count
    node = res.node
    if isinstance(node, HclNode):
        meta = node.block.attrs.get("count") or node.block.attrs.get("for_each")
        # `count = var.n` is a number, bounded (or not) by the evaluator already; a
        # collection is `for_each = var.xs` or `count = length(var.xs)`.
        if meta is not None and (meta.name == "for_each" or _is_call(meta.expr)):
            found = length_bound(meta.expr, node.evaluator)
            if found is not None:
                return Value.bound(found[0], found[1], count.location)
            name = _collection_variable(meta.expr)
            if name:
                return Value.unresolved(
                    f"variable {name} has no validation that bounds its length (such as "
                    f"length(var.{name}) <= 10), so any number of elements can be passed",
                    count.location,
                )
    return count


def length_bound(expr: Any, evaluator: Evaluator) -> tuple[float, str] | None:
    """The most elements a `count = length(var.x)` or `for_each = var.x` (or
    `toset(var.x)`) can give, from a validation such as `length(var.x) <= 10`."""
    name = _collection_variable(expr)
    if not name:
        return None
    block = evaluator.scope.variables.get(name)
    if block is None:
        return None
    limits = []
    for validation in block.children("validation"):
        condition = validation.attrs.get("condition")
        if condition is not None:
            limit = _length_limit(condition.expr, name, evaluator)
            if limit is not None:
                limits.append(limit)
    if not limits:
        return None
    top = min(limits)
    shown = int(top) if float(top).is_integer() else top
    return top, f"validation of variable {name} allows at most {shown} elements"


def _collection_variable(expr: Any) -> str:
    """x for `var.x`, `length(var.x)`, `toset(var.x)` or `keys(var.x)`; "" otherwise."""
    node = _unwrap(expr)
    if getattr(node, "data", None) == "function_call":
        kids = [k for k in node.children if not _is_noise(k)]
        if _label(kids[0]) not in ("length", "toset", "keys", "values", "tolist", "tomap"):
            return ""
        args = _arguments(kids)
        return _collection_variable(args[0]) if len(args) == 1 else ""
    path = _path_of(node)
    return path[1] if len(path) == 2 and path[0] == "var" else ""


def _length_limit(expr: Any, name: str, evaluator: Evaluator) -> float | None:
    node = _unwrap(expr)
    if getattr(node, "data", None) != "binary_op":
        return None
    kids = [k for k in node.children if not _is_noise(k)]
    term = [k for k in kids[1].children if not _is_noise(k)]
    op = str(term[0].children[0]) if hasattr(term[0], "data") else str(term[0])
    left, right = kids[0], term[1]
    if op in ("&&", "||"):
        found = [_length_limit(left, name, evaluator), _length_limit(right, name, evaluator)]
        known = [f for f in found if f is not None]
        if op == "&&":
            return min(known) if known else None
        return max(known) if len(known) == 2 else None
    if _is_length_of(left, name) and op in ("<", "<=", "=="):
        limit = as_number(evaluator.evaluate(right))
        return None if limit is None else (limit - 1 if op == "<" else limit)
    if _is_length_of(right, name) and op in (">", ">=", "=="):
        limit = as_number(evaluator.evaluate(left))
        return None if limit is None else (limit - 1 if op == ">" else limit)
    return None


def _is_length_of(expr: Any, name: str) -> bool:
    node = _unwrap(expr)
    if getattr(node, "data", None) != "function_call":
        return False
    kids = [k for k in node.children if not _is_noise(k)]
    args = _arguments(kids)
    return _label(kids[0]) == "length" and len(args) == 1 and _path_of(args[0]) == ["var", name]


def _is_call(expr: Any) -> bool:
    return getattr(_unwrap(expr), "data", None) == "function_call"


def _arguments(kids: list) -> list:
    node = next((k for k in kids if getattr(k, "data", None) == "arguments"), None)
    return [k for k in node.children if hasattr(k, "data")] if node is not None else []


def _meta_argument(res: TfResource) -> str:
    """ "count" or "for_each" when one multiplies the resource, "" otherwise."""
    if res.count.is_absent:
        return ""
    node = res.node
    if isinstance(node, HclNode) and "for_each" in node.block.attrs:
        return "for_each"
    return "count"


# ---- references and text -------------------------------------------------------------

_TRAVERSALS = (
    "get_attr_expr_term",
    "index_expr_term",
    "attr_splat_expr_term",
    "full_splat_expr_term",
)
_VARIANT = re.compile(r"variant/([^/\x00]+)$")


def references(res: TfResource, name: str) -> tuple[str, ...]:
    """Every resource address an attribute refers to (aws_x.y), in order."""
    node = res.node
    found: list[str] = []
    if isinstance(node, HclNode):
        attr = node.block.attrs.get(name)
        if attr is not None:
            _collect_refs(attr.expr, found)
    elif isinstance(node, PlanNode):
        for ref in node.references.get(name, []):
            parts = ref.split(".")
            if parts[0] not in ("var", "local", "each", "count", "module", "data", "path"):
                if len(parts) >= 2:
                    found.append(re.sub(r"\[[^\]]*\]$", "", ".".join(parts[:2])))
    return tuple(dict.fromkeys(found))


def _collect_refs(tree: Any, found: list[str]) -> None:
    if getattr(tree, "data", None) in _TRAVERSALS:
        ref = _ref_of(tree)
        if ref:
            found.append(ref)
            return
    for child in getattr(tree, "children", []):
        if hasattr(child, "data"):
            _collect_refs(child, found)


def _text_of(res: TfResource, name: str) -> str:
    """The attribute's string with each interpolation replaced by a NUL."""
    node = res.node
    if isinstance(node, PlanNode):
        value = node.values.get(name)
        return value if isinstance(value, str) else ""
    if not isinstance(node, HclNode):
        return ""
    attr = node.block.attrs.get(name)
    string = _unwrap(attr.expr) if attr is not None else None
    if getattr(string, "data", None) != "string":
        return ""
    parts: list[str] = []
    for part in string.children:
        if getattr(part, "data", None) != "string_part":
            continue
        for piece in part.children:
            parts.append("\x00" if hasattr(piece, "data") else str(piece))
    return "".join(parts)


def _variant(text: str) -> str:
    match = _VARIANT.search(text)
    return match.group(1) if match else ""


# ---- helpers ---------------------------------------------------------------------------


def _list_values(node: HclNode | PlanNode, name: str) -> list[Value]:
    """A list attribute as one Value per element (unresolved as a whole when unknown)."""
    value = node.value(name)
    if value.is_absent:
        return []
    if value.kind == "literal" and isinstance(value.value, list):
        return [to_value(item, value.location) for item in value.value]
    return [value]


def _block_reference(res: TfResource, *blocks: str) -> str:
    """In a plan, the address a nested block refers to (the plan's configuration lists
    a block's references under the block's name); "" in HCL, where the block's own
    attributes are read instead."""
    if not isinstance(res.node, PlanNode):
        return ""
    for name in blocks or ("launch_template", "mixed_instances_policy"):
        ref = res.reference(name)
        if ref:
            return ref
    return ""


def _by_attributes(node: Any) -> Value:
    return Value.unresolved(
        "instance types are chosen by attributes (instance_requirements), so the dearest "
        "one is not known",
        node.where("instance_requirements"),
    )


def _tags_known(res: TfResource) -> bool:
    """False when tags are computed (merge(), a variable, a dynamic "tag" block)."""
    node = res.node
    if isinstance(node, HclNode):
        if any(block.block.labels[:1] == ["tag"] for block in node.blocks("dynamic")):
            return False
        if node.has("tags") and not isinstance(node.raw("tags"), dict):
            return False
    return True
