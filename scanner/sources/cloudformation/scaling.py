"""CloudFormation adapters for the scaling family: groups and what can lift their ceiling."""

from __future__ import annotations

from collections.abc import Iterator

from costbreaker.inventory import AutoScalingGroup, CeilingLift, Resource, Value
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
