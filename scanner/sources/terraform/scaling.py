"""Terraform adapters for the scaling family: groups and what can lift their ceiling."""

from __future__ import annotations

from collections.abc import Iterator

from costbreaker.inventory import AutoScalingGroup, CeilingLift, Resource
from costbreaker.sources.terraform.model import TfResource
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
            for spec in template.blocks("launch_template_specification"):
                launch = (
                    launch
                    or spec.reference("launch_template_id")
                    or spec.reference("launch_template_name")
                )
    for template in res.blocks("launch_template"):
        launch = launch or template.reference("id") or template.reference("name")
    launch = launch or res.reference("launch_configuration")
    yield AutoScalingGroup(
        **res.common(),
        max_size=res.value("max_size"),
        min_size=res.value("min_size"),
        desired_capacity=res.value("desired_capacity"),
        instance_types=instance_types,
        launch_template=launch,
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
