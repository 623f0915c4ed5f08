"""CloudFormation adapters for the scaling family: everything that scales, what can lift
its ceiling, and what prices one unit of it (launch templates, task definitions,
SageMaker endpoint configurations).

Adapters only read the resource in hand; links to other resources are kept as logical
ids (`reference`), which CB107 resolves within the template.
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
    LaunchTemplate,
    NodeGroup,
    Resource,
    ScalableTarget,
    TaskDefinition,
    Value,
    as_number,
)
from costbreaker.sources.cloudformation.registry import adapter
from costbreaker.sources.cloudformation.template import CfnResource, key_of


@adapter("AWS::AutoScaling::AutoScalingGroup")
def auto_scaling_group(res: CfnResource) -> Iterator[Resource]:
    overrides = res.node("MixedInstancesPolicy.LaunchTemplate.Overrides")
    instance_types = []
    if isinstance(overrides, list):
        for item in overrides:
            if isinstance(item, dict) and "InstanceType" in item:
                instance_types.append(res.value("InstanceType", item))
            elif isinstance(item, dict) and "InstanceRequirements" in item:
                instance_types.append(_by_attributes(res, item))
    launch = (
        res.reference(res.node("LaunchTemplate.LaunchTemplateId"))
        or res.reference(res.node("LaunchTemplate.LaunchTemplateName"))
        or res.reference(
            res.node(
                "MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateId"
            )
        )
        or res.reference(
            res.node(
                "MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateName"
            )
        )
        or res.reference(res.node("LaunchConfigurationName"))
        or ""
    )
    yield AutoScalingGroup(
        **res.common(),
        max_size=res.value("MaxSize"),
        min_size=res.value("MinSize"),
        desired_capacity=res.value("DesiredCapacity"),
        instance_types=instance_types,
        launch_template=launch,
        tags_known=_tags_known(res),
    )
    policy = res.body.get("UpdatePolicy")
    replacing = policy.get("AutoScalingReplacingUpdate") if isinstance(policy, dict) else None
    if isinstance(replacing, dict):
        will_replace = res.value("WillReplace", replacing)
        if will_replace.kind == "literal" and str(will_replace.value).lower() == "true":
            # A replacing update builds a whole second group before deleting the
            # first: for its duration the stack runs up to twice the group's maximum.
            # When the group's own maximum is unknown CB101 already says so; a second
            # finding on the same unknown would add nothing.
            group_max = res.value("MaxSize").number()
            if group_max is None:
                return
            where = res.template.location(
                key_of(policy, "AutoScalingReplacingUpdate"), res.logical_id
            )
            lifted = Value.bound(group_max * 2, "old and new group side by side", where)
            yield CeilingLift(
                **{**res.common(), "location": where},
                group=res.logical_id,
                mechanism="update policy (AutoScalingReplacingUpdate)",
                max_value=lifted,
            )


@adapter("AWS::AutoScaling::ScheduledAction")
def scheduled_action(res: CfnResource) -> Iterator[Resource]:
    max_size = res.value("MaxSize")
    if max_size.is_absent:
        return
    yield CeilingLift(
        **res.common(),
        group=res.reference(res.node("AutoScalingGroupName")) or "",
        mechanism="scheduled action",
        max_value=max_size,
    )


@adapter("AWS::AutoScaling::WarmPool")
def warm_pool(res: CfnResource) -> Iterator[Resource]:
    prepared = res.value("MaxGroupPreparedCapacity")
    if prepared.is_absent or prepared.number() == -1:
        return  # -1 / unset: the pool is sized from the group's own MaxSize
    yield CeilingLift(
        **res.common(),
        group=res.reference(res.node("AutoScalingGroupName")) or "",
        mechanism="warm pool",
        max_value=prepared,
    )


# ---- launch templates and configurations ------------------------------------------------


@adapter("AWS::EC2::LaunchTemplate")
def launch_template(res: CfnResource) -> Iterator[Resource]:
    data = res.node("LaunchTemplateData")
    if isinstance(data, dict) and "InstanceRequirements" in data and "InstanceType" not in data:
        instance_type = _by_attributes(res, data)
    else:
        instance_type = res.value("LaunchTemplateData.InstanceType")
    yield LaunchTemplate(**res.common(), instance_type=instance_type)


@adapter("AWS::AutoScaling::LaunchConfiguration")
def launch_configuration(res: CfnResource) -> Iterator[Resource]:
    yield LaunchTemplate(**res.common(), instance_type=res.value("InstanceType"))


# ---- EKS node groups and fleets ---------------------------------------------------------


@adapter("AWS::EKS::Nodegroup")
def node_group(res: CfnResource) -> Iterator[Resource]:
    max_size = res.value("ScalingConfig.MaxSize")
    if max_size.is_absent and res.node("ScalingConfig") is None:
        max_size = Value.unresolved(
            "ScalingConfig is not set, so the ceiling is EKS's default rather than one the "
            "template declares",
            res.where("ScalingConfig"),
        )
    types = res.node("InstanceTypes")
    instance_types: list[Value] = []
    if isinstance(types, list):
        instance_types = [res.resolve(item, res.where("InstanceTypes")) for item in types]
    elif types is not None:
        instance_types = [res.value("InstanceTypes")]
    yield NodeGroup(
        **res.common(),
        max_size=max_size,
        min_size=res.value("ScalingConfig.MinSize"),
        desired_size=res.value("ScalingConfig.DesiredSize"),
        instance_types=instance_types,
        launch_template=res.reference(res.node("LaunchTemplate.Id"))
        or res.reference(res.node("LaunchTemplate.Name"))
        or "",
        capacity_type=res.value("CapacityType"),
        tags_known=_tags_known(res),
    )


@adapter("AWS::EC2::EC2Fleet")
def ec2_fleet(res: CfnResource) -> Iterator[Resource]:
    spec = res.node("TargetCapacitySpecification")
    yield _fleet(
        res,
        "EC2 Fleet",
        res.value("TargetCapacitySpecification.TotalTargetCapacity"),
        res.node("TargetCapacityUnitType", spec) if isinstance(spec, dict) else None,
        res.node("LaunchTemplateConfigs"),
        None,
    )


@adapter("AWS::EC2::SpotFleet")
def spot_fleet(res: CfnResource) -> Iterator[Resource]:
    config = res.node("SpotFleetRequestConfigData")
    config = config if isinstance(config, dict) else {}
    yield _fleet(
        res,
        "Spot Fleet",
        res.value("SpotFleetRequestConfigData.TargetCapacity"),
        config.get("TargetCapacityUnitType"),
        config.get("LaunchTemplateConfigs"),
        config.get("LaunchSpecifications"),
    )


def _fleet(
    res: CfnResource,
    kind: str,
    target: Value,
    unit_type: Any,
    template_configs: Any,
    launch_specs: Any,
) -> Fleet:
    types: list[Value] = []
    weights: list[float | None] = []
    templates: list[str] = []
    for config in template_configs if isinstance(template_configs, list) else []:
        if not isinstance(config, dict):
            continue
        spec = config.get("LaunchTemplateSpecification")
        spec = spec if isinstance(spec, dict) else {}
        template = res.reference(spec.get("LaunchTemplateId")) or res.reference(
            spec.get("LaunchTemplateName")
        )
        overrides = config.get("Overrides")
        if isinstance(overrides, list) and overrides:
            for item in overrides:
                if not isinstance(item, dict):
                    continue
                if "InstanceType" in item:
                    types.append(res.value("InstanceType", item))
                else:
                    types.append(_by_attributes(res, item))
                weights.append(as_number(item.get("WeightedCapacity")))
        elif template:
            templates.append(template)
        else:
            types.append(Value.unresolved("a launch template outside this template", res.location))
            weights.append(None)
    for spec in launch_specs if isinstance(launch_specs, list) else []:
        if isinstance(spec, dict):
            if "InstanceType" in spec:
                types.append(res.value("InstanceType", spec))
            else:
                types.append(_by_attributes(res, spec))
            weights.append(as_number(spec.get("WeightedCapacity")))
    unit = unit_type if isinstance(unit_type, str) else "units"
    return Fleet(
        **res.common(),
        fleet_kind=kind,
        target_capacity=target,
        unit_type=unit,
        instance_types=types,
        weights=weights,
        launch_templates=templates,
    )


# ---- Application Auto Scaling -----------------------------------------------------------


@adapter("AWS::ApplicationAutoScaling::ScalableTarget")
def scalable_target(res: CfnResource) -> Iterator[Resource]:
    refs, text = _refs_and_text(res, res.node("ResourceId"))
    yield ScalableTarget(
        **res.common(),
        namespace=res.value("ServiceNamespace"),
        dimension=res.value("ScalableDimension"),
        max_capacity=res.value("MaxCapacity"),
        min_capacity=res.value("MinCapacity"),
        resource_id=res.value("ResourceId"),
        refs=refs,
        variant=variant_name(text),
    )
    actions = res.node("ScheduledActions")
    for index, action in enumerate(actions if isinstance(actions, list) else []):
        if not isinstance(action, dict):
            continue
        max_capacity = res.value("ScalableTargetAction.MaxCapacity", action)
        if max_capacity.is_absent:
            continue
        name = action.get("ScheduledActionName")
        label = name if isinstance(name, str) else f"ScheduledActions[{index}]"
        yield CeilingLift(
            **{**res.common(), "address": f"{res.logical_id}/{label}"},
            group=res.logical_id,
            mechanism="scheduled action",
            max_value=max_capacity,
            ceiling_key="scalable_target_max_capacity",
            unit="capacity units",
        )


# ---- what prices one unit: ECS tasks and SageMaker variants ------------------------------


@adapter("AWS::ECS::Service")
def ecs_service(res: CfnResource) -> Iterator[Resource]:
    strategy = res.node("CapacityProviderStrategy")
    providers = [
        res.value("CapacityProvider", item)
        for item in (strategy if isinstance(strategy, list) else [])
        if isinstance(item, dict)
    ]
    yield EcsService(
        **res.common(),
        task_definition=res.reference(res.node("TaskDefinition")) or "",
        launch_type=res.value("LaunchType"),
        capacity_providers=providers,
        desired_count=res.value("DesiredCount"),
    )


@adapter("AWS::ECS::TaskDefinition")
def task_definition(res: CfnResource) -> Iterator[Resource]:
    required = res.node("RequiresCompatibilities")
    compatibilities = tuple(
        str(item).upper() for item in (required if isinstance(required, list) else [])
    )
    yield TaskDefinition(
        **res.common(),
        cpu=res.value("Cpu"),
        memory=res.value("Memory"),
        compatibilities=compatibilities,
        cpu_architecture=res.value("RuntimePlatform.CpuArchitecture"),
        os_family=res.value("RuntimePlatform.OperatingSystemFamily"),
    )


@adapter("AWS::SageMaker::EndpointConfig")
def endpoint_config(res: CfnResource) -> Iterator[Resource]:
    variants = []
    items = res.node("ProductionVariants")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        name = res.value("VariantName", item)
        variants.append(
            EndpointVariant(
                name=str(name.value) if name.kind == "literal" else "",
                instance_type=res.value("InstanceType", item),
                initial_count=res.value("InitialInstanceCount", item),
                serverless="ServerlessConfig" in item,
            )
        )
    yield EndpointConfig(**res.common(), variants=variants)


@adapter("AWS::SageMaker::Endpoint")
def endpoint(res: CfnResource) -> Iterator[Resource]:
    yield Endpoint(
        **res.common(), endpoint_config=res.reference(res.node("EndpointConfigName")) or ""
    )


# ---- helpers ---------------------------------------------------------------------------

_SUB_NAME = re.compile(r"\$\{([^}!][^}]*)\}")
_VARIANT = re.compile(r"variant/([^/\x00]+)$")


def variant_name(text: str) -> str:
    """The SageMaker variant in a ResourceId ("endpoint/<name>/variant/<variant>"), when
    its last part is written out; "" otherwise."""
    match = _VARIANT.search(text)
    return match.group(1) if match else ""


def _refs_and_text(res: CfnResource, node: Any) -> tuple[tuple[str, ...], str]:
    """The resources a value names (Ref, GetAtt, ${X} in Fn::Sub) and its text, with
    every part that is not written out replaced by a NUL."""
    refs: list[str] = []

    def walk(item: Any) -> str:
        if isinstance(item, str | int | float) and not isinstance(item, bool):
            return str(item)
        if isinstance(item, list):
            return "\x00".join(walk(part) for part in item)
        if not isinstance(item, dict) or len(item) != 1:
            return "\x00"
        ((fn, arg),) = item.items()
        target = res.reference(item)
        if target:
            refs.append(target)
            return "\x00"
        if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            parts = arg[1] if isinstance(arg[1], list) else [arg[1]]
            return str(arg[0]).join(walk(part) for part in parts)
        if fn == "Fn::Sub":
            template = arg[0] if isinstance(arg, list) and arg else arg
            if isinstance(template, str):
                for name in _SUB_NAME.findall(template):
                    logical = name.split(".", 1)[0]
                    if res.template.is_resource(logical):
                        refs.append(logical)
                return _SUB_NAME.sub("\x00", template)
        if isinstance(arg, list | dict):
            walk(arg)
        return "\x00"

    text = walk(node) if node is not None else ""
    return tuple(dict.fromkeys(refs)), text


def _by_attributes(res: CfnResource, node: Any) -> Value:
    """The instance type of an override or template that selects types by attributes."""
    where = res.where("InstanceRequirements", node) if isinstance(node, dict) else res.location
    return Value.unresolved(
        "instance types are chosen by attributes (InstanceRequirements), so the dearest "
        "one is not known",
        where,
    )


def _tags_known(res: CfnResource) -> bool:
    """False when Tags is computed (Fn::If, a Ref), so absent tags may just be unseen."""
    raw = res.props.get("Tags")
    if raw is None:
        return True
    if isinstance(raw, dict):
        return not (len(raw) == 1 and str(next(iter(raw))).startswith(("Fn::", "Ref")))
    if isinstance(raw, list):
        return all(isinstance(item, dict) and isinstance(item.get("Key"), str) for item in raw)
    return False
