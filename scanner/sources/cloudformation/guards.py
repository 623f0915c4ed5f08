"""CloudFormation adapters for the breaker and billing families (and CB105's functions).

IAM documents keep cfn-lint's marks, so every statement, action and condition key of a
policy gets its own line; `Ref`, `Fn::GetAtt` and `Fn::Sub` references between
resources become in-scope addresses so the rules can follow budget action → policy,
alarm → topic → subscription → function, and function → role → policies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from costbreaker import iam
from costbreaker.guards import (
    Alarm,
    AnomalyMonitor,
    AnomalySubscription,
    Budget,
    BudgetAction,
    BudgetNotification,
    Endpoint,
    EventRule,
    LambdaFunction,
    MetricRef,
    Policy,
    Ref,
    Role,
    Subscription,
    Topic,
)
from costbreaker.inventory import Location, Resource, Value
from costbreaker.sources.cloudformation.registry import adapter
from costbreaker.sources.cloudformation.template import CfnResource, key_of, position

# ---- reading documents and references --------------------------------------------------------


class CfnSource(iam.Source):
    """Policy values and locations from a decoded template node (marks on every node)."""

    def __init__(self, res: CfnResource, fallback: Location) -> None:
        super().__init__(fallback)
        self.res = res

    def _loc(self, node: Any) -> Location | None:
        line, column = position(node)
        if not line:
            return None
        return Location(self.res.template.file, line, column, self.res.logical_id)

    def at(self, node: Any, path: tuple) -> Location | None:
        return self._loc(node)

    def key_at(self, mapping: Any, key: str, path: tuple) -> Location | None:
        if not isinstance(mapping, dict):
            return None
        return self._loc(key_of(mapping, key))

    def text(self, node: Any) -> tuple[str | None, str]:
        if isinstance(node, bool | str | int | float):
            return super().text(node)
        value = self.res.template.resolve(node, None)
        if value.kind == "literal" and isinstance(value.value, str | int | float):
            return str(value.value), ""
        return None, value.why or "not static"

    def branches(self, node: Any) -> list | None:
        if isinstance(node, dict) and len(node) == 1 and "Fn::If" in node:
            arg = node["Fn::If"]
            if isinstance(arg, list) and len(arg) == 3:
                return [b for b in arg[1:] if b != {"Ref": "AWS::NoValue"}]
        return None


def document(res: CfnResource, path: str, base: Any = None) -> iam.Document | None:
    """The policy document at a property path (a mapping or a JSON string), or None."""
    node = res.node(path, base)
    if node is None:
        return None
    where = res.where(path, base)
    if isinstance(node, str):
        return iam.parse_text(str(node), where)
    return iam.parse_document(node, CfnSource(res, where))


_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def ref(res: CfnResource, node: Any, where: Location | None = None) -> Ref:
    """Where a property points: a resource of the template, or the literal text."""
    line, column = position(node)
    loc = where or (
        Location(res.template.file, line, column, res.logical_id) if line else res.location
    )
    address = res.reference(node)
    if address:
        return Ref(address, "", loc)
    if isinstance(node, dict) and len(node) == 1:
        ((fn, arg),) = node.items()
        if fn == "Fn::Sub":
            text = arg[0] if isinstance(arg, list) and arg else arg
            if isinstance(text, str):
                for name in _SUB_NAME.findall(text):
                    if res.template.is_resource(name):
                        return Ref(name, "", loc)
        elif fn in ("Fn::Join", "Fn::Select", "Fn::If"):
            for item in _flatten(arg):
                inner = ref(res, item, loc)
                if inner.address:
                    return inner
    value = res.resolve(node, loc)
    if value.kind == "literal" and isinstance(value.value, str):
        return Ref("", str(value.value), loc)
    return Ref("", "", loc)


def _flatten(node: Any) -> list:
    if isinstance(node, list):
        return [x for item in node for x in _flatten(item)]
    return [node]


def refs(res: CfnResource, path: str, base: Any = None) -> tuple[Ref, ...]:
    node = res.node(path, base)
    if node is None:
        return ()
    items = node if isinstance(node, list) else [node]
    return tuple(ref(res, item) for item in items)


def _text(res: CfnResource, path: str, base: Any = None) -> str:
    value = res.value(path, base)
    return value.text() or ""


def _at(res: CfnResource, node: Any) -> Location:
    line, column = position(node)
    return Location(res.template.file, line, column, res.logical_id) if line else res.location


# ---- IAM -----------------------------------------------------------------------------------


@adapter("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy")
def managed_policy(res: CfnResource) -> Iterator[Resource]:
    managed = res.type == "AWS::IAM::ManagedPolicy"
    attached = (*refs(res, "Roles"), *refs(res, "Users"), *refs(res, "Groups"))
    yield Policy(
        **res.common(),
        policy_kind="managed" if managed else "inline",
        name=_text(res, "ManagedPolicyName" if managed else "PolicyName"),
        document=document(res, "PolicyDocument"),
        attached_to=attached,
        description=_text(res, "Description"),
    )


@adapter("AWS::IAM::RolePolicy", "AWS::IAM::UserPolicy", "AWS::IAM::GroupPolicy")
def principal_policy(res: CfnResource) -> Iterator[Resource]:
    owner_key = {"RolePolicy": "RoleName", "UserPolicy": "UserName", "GroupPolicy": "GroupName"}[
        res.type.rsplit("::", 1)[-1]
    ]
    owner = ref(res, res.node(owner_key))
    yield Policy(
        **res.common(),
        policy_kind="inline",
        name=_text(res, "PolicyName"),
        document=document(res, "PolicyDocument"),
        owner=owner.address or owner.text,
    )


def _inline_policies(res: CfnResource) -> Iterator[Resource]:
    items = res.node("Policies")
    if not isinstance(items, list):
        return
    for item in items:
        if not isinstance(item, dict):
            continue
        yield Policy(
            **{**res.common(), "location": _at(res, item)},
            policy_kind="inline",
            name=_text(res, "PolicyName", item),
            document=document(res, "PolicyDocument", item),
            owner=res.logical_id,
        )


@adapter("AWS::IAM::Role")
def role(res: CfnResource) -> Iterator[Resource]:
    boundary = res.node("PermissionsBoundary")
    yield Role(
        **res.common(),
        role_name=res.value("RoleName"),
        trust=document(res, "AssumeRolePolicyDocument"),
        managed=refs(res, "ManagedPolicyArns"),
        boundary=ref(res, boundary) if boundary is not None else None,
    )
    yield from _inline_policies(res)


@adapter("AWS::IAM::User", "AWS::IAM::Group")
def user_or_group(res: CfnResource) -> Iterator[Resource]:
    yield from _inline_policies(res)


@adapter("AWS::Organizations::Policy")
def organizations_policy(res: CfnResource) -> Iterator[Resource]:
    kind = res.value("Type")
    if kind.kind == "literal" and kind.value != "SERVICE_CONTROL_POLICY":
        return
    yield Policy(
        **res.common(),
        policy_kind="scp",
        name=_text(res, "Name"),
        document=document(res, "Content"),
        attached_to=refs(res, "TargetIds"),
        description=_text(res, "Description"),
    )


# ---- Lambda --------------------------------------------------------------------------------


def _environment_refs(res: CfnResource, base: Any = None) -> tuple[str, ...]:
    variables = res.node("Environment.Variables", base)
    if not isinstance(variables, dict):
        return ()
    found = [ref(res, value).address for value in variables.values()]
    return tuple(a for a in found if a)


@adapter("AWS::Lambda::Function")
def lambda_function(res: CfnResource) -> Iterator[Resource]:
    yield LambdaFunction(
        **res.common(),
        role=ref(res, res.node("Role"), res.where("Role")),
        reserved_concurrency=res.value("ReservedConcurrentExecutions"),
        references=_environment_refs(res),
    )


@adapter("AWS::Serverless::Function")
def serverless_function(res: CfnResource) -> Iterator[Resource]:
    reserved = res.value("ReservedConcurrentExecutions")
    globals_ = res.template.tree.get("Globals")
    function_globals = globals_.get("Function") if isinstance(globals_, dict) else None
    if reserved.is_absent and isinstance(function_globals, dict):
        if "ReservedConcurrentExecutions" in function_globals:
            reserved = res.value("ReservedConcurrentExecutions", function_globals)
    role_node = res.node("Role")
    managed: list[Ref] = []
    templates: list[str] = []
    facts: list[Resource] = []
    if role_node is None:
        policies = res.node("Policies")
        items = policies if isinstance(policies, list) else [policies] if policies else []
        for index, item in enumerate(items):
            if isinstance(item, dict) and "Statement" in item:
                facts.append(
                    Policy(
                        **{**res.common(), "location": _at(res, item)},
                        policy_kind="inline",
                        name=f"Policies[{index}]",
                        document=iam.parse_document(item, CfnSource(res, _at(res, item))),
                        owner=res.logical_id,
                    )
                )
            elif (
                isinstance(item, dict)
                and len(item) == 1
                and not next(iter(item)).startswith(("Fn::", "Ref"))
            ):
                templates.append(str(next(iter(item))))
            elif item is not None:
                managed.append(ref(res, item))
    yield LambdaFunction(
        **res.common(),
        role=ref(res, role_node, res.where("Role")) if role_node is not None else None,
        reserved_concurrency=reserved,
        managed=tuple(managed),
        sam_templates=tuple(templates),
        references=_environment_refs(res),
        sam=True,
    )
    yield from facts
    yield from _sam_events(res)


def _sam_events(res: CfnResource) -> Iterator[Resource]:
    """SNS and EventBridge events of a SAM function: subscriptions and rules it implies."""
    events = res.node("Events")
    if not isinstance(events, dict):
        return
    target = Ref(res.logical_id, "", res.location)
    for name, event in events.items():
        if not isinstance(event, dict):
            continue
        kind = event.get("Type")
        props = event.get("Properties") if isinstance(event.get("Properties"), dict) else {}
        where = _at(res, name)
        common = {
            **res.common(),
            "address": f"{res.logical_id}.{name}",
            "location": where,
            "type": f"AWS::Serverless::Function {kind} event",
        }
        if kind == "SNS":
            yield Subscription(
                **common,
                topic=ref(res, props.get("Topic")),
                endpoint=Endpoint("lambda", target, where),
            )
        elif kind in ("EventBridgeRule", "CloudWatchEvent"):
            yield EventRule(
                **common,
                pattern=_pattern(props.get("Pattern")),
                pattern_location=where,
                targets=(target,),
                enabled=props.get("State", "ENABLED") != "DISABLED",
            )
        elif kind in ("Schedule", "ScheduleV2"):
            yield EventRule(
                **common,
                schedule=res.value("Schedule", props) if "Schedule" in props else Value.absent(),
                targets=(target,),
            )


def _pattern(node: Any) -> Any:
    if isinstance(node, str):
        try:
            return json.loads(node)
        except ValueError:
            return None
    return node


# ---- alarms, topics, subscriptions ------------------------------------------------------------


def _dimensions(res: CfnResource, base: Any) -> dict[str, Value] | None:
    node = res.node("Dimensions", base)
    if node is None:
        return {}
    if not isinstance(node, list):
        return None
    found: dict[str, Value] = {}
    for item in node:
        if not isinstance(item, dict):
            return None
        name = res.value("Name", item)
        if name.text() is None:
            return None
        found[str(name.text())] = res.value("Value", item)
    return found


@adapter("AWS::CloudWatch::Alarm")
def alarm(res: CfnResource) -> Iterator[Resource]:
    metrics: list[MetricRef] = []
    math = isinstance(res.node("Metrics"), list)
    if math:
        for item in res.node("Metrics"):
            stat = res.node("MetricStat", item) if isinstance(item, dict) else None
            metric = res.node("Metric", stat) if isinstance(stat, dict) else None
            if not isinstance(metric, dict):
                continue
            metrics.append(
                MetricRef(
                    namespace=res.value("Namespace", metric),
                    metric=res.value("MetricName", metric),
                    dimensions=_dimensions(res, metric),
                    period=res.value("Period", stat),
                    location=res.where("MetricName", metric),
                )
            )
    else:
        metrics.append(
            MetricRef(
                namespace=res.value("Namespace"),
                metric=res.value("MetricName"),
                dimensions=_dimensions(res, None),
                period=res.value("Period"),
                location=res.where("MetricName"),
            )
        )
    yield Alarm(
        **res.common(),
        metrics=tuple(metrics),
        treat_missing_data=res.value("TreatMissingData"),
        description=res.value("AlarmDescription"),
        actions=refs(res, "AlarmActions"),
        actions_location=res.where("AlarmActions") if "AlarmActions" in res.props else None,
        actions_enabled=res.value("ActionsEnabled"),
        math=math,
    )


def _endpoint(res: CfnResource, item: Any, protocol_key: str, address_key: str) -> Endpoint:
    protocol = res.value(protocol_key, item).text() or ""
    return Endpoint(protocol.lower(), ref(res, res.node(address_key, item)), _at(res, item))


@adapter("AWS::SNS::Topic")
def topic(res: CfnResource) -> Iterator[Resource]:
    items = res.node("Subscription")
    subscriptions = tuple(
        _endpoint(res, item, "Protocol", "Endpoint")
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict)
    )
    yield Topic(**res.common(), subscriptions=subscriptions)


@adapter("AWS::SNS::Subscription")
def subscription(res: CfnResource) -> Iterator[Resource]:
    protocol = (res.value("Protocol").text() or "").lower()
    yield Subscription(
        **res.common(),
        topic=ref(res, res.node("TopicArn")),
        endpoint=Endpoint(protocol, ref(res, res.node("Endpoint")), res.where("Endpoint")),
    )


# ---- budgets and anomaly detection ---------------------------------------------------------


@adapter("AWS::Budgets::Budget")
def budget(res: CfnResource) -> Iterator[Resource]:
    items = res.node("NotificationsWithSubscribers")
    notifications = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        subscribers = res.node("Subscribers", item)
        notifications.append(
            BudgetNotification(
                _at(res, item),
                tuple(
                    _endpoint(res, s, "SubscriptionType", "Address")
                    for s in (subscribers if isinstance(subscribers, list) else [])
                    if isinstance(s, dict)
                ),
            )
        )
    present = "NotificationsWithSubscribers" in res.props
    yield Budget(
        **res.common(),
        budget_name=res.value("Budget.BudgetName"),
        notifications=tuple(notifications),
        notifications_location=res.where("NotificationsWithSubscribers") if present else None,
    )


@adapter("AWS::Budgets::BudgetsAction")
def budget_action(res: CfnResource) -> Iterator[Resource]:
    definition = res.node("Definition")
    policy: Ref | None = None
    targets: tuple[Ref, ...] = ()
    if isinstance(definition, dict):
        iam_def = definition.get("IamActionDefinition")
        scp_def = definition.get("ScpActionDefinition")
        if isinstance(iam_def, dict):
            policy = ref(res, iam_def.get("PolicyArn"))
            targets = (
                *refs(res, "Roles", iam_def),
                *refs(res, "Users", iam_def),
                *refs(res, "Groups", iam_def),
            )
        elif isinstance(scp_def, dict):
            policy = ref(res, scp_def.get("PolicyId"))
            targets = refs(res, "TargetIds", scp_def)
    subscribers = res.node("Subscribers")
    yield BudgetAction(
        **res.common(),
        budget=ref(res, res.node("BudgetName")),
        action_type=res.value("ActionType"),
        policy=policy,
        targets=targets,
        subscribers=tuple(
            _endpoint(res, s, "Type", "Address")
            for s in (subscribers if isinstance(subscribers, list) else [])
            if isinstance(s, dict)
        ),
    )


@adapter("AWS::CE::AnomalyMonitor")
def anomaly_monitor(res: CfnResource) -> Iterator[Resource]:
    yield AnomalyMonitor(**res.common())


@adapter("AWS::CE::AnomalySubscription")
def anomaly_subscription(res: CfnResource) -> Iterator[Resource]:
    subscribers = res.node("Subscribers")
    yield AnomalySubscription(
        **res.common(),
        monitors=refs(res, "MonitorArnList"),
        subscribers=tuple(
            _endpoint(res, s, "Type", "Address")
            for s in (subscribers if isinstance(subscribers, list) else [])
            if isinstance(s, dict)
        ),
    )


# ---- EventBridge ---------------------------------------------------------------------------


@adapter("AWS::Events::Rule")
def event_rule(res: CfnResource) -> Iterator[Resource]:
    targets = res.node("Targets")
    state = res.value("State").text()
    yield EventRule(
        **res.common(),
        pattern=_pattern(res.node("EventPattern")),
        pattern_location=res.where("EventPattern"),
        schedule=res.value("ScheduleExpression"),
        targets=tuple(
            ref(res, t.get("Arn"))
            for t in (targets if isinstance(targets, list) else [])
            if isinstance(t, dict)
        ),
        enabled=state not in ("DISABLED",),
    )
