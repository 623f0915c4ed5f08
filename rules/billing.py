"""CB3xx: billing guards — the slow backstop, written so that it can really fire.

Billing signals are late by design (BRIEF.md): `AWS/Billing` `EstimatedCharges` exists
only in us-east-1, is published a few times a day per `Currency`, and an alarm period
below six hours mostly sees no data; budgets refresh up to three times a day. These rules
check that the backstop exists (CB301), can fire (CB302), reaches a person (CB303),
enforces something (CB304), and that scopes running models also have a real-time
detector (CB305).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from costbreaker.config import Config
from costbreaker.findings import Finding
from costbreaker.guards import (
    Alarm,
    AnomalyMonitor,
    AnomalySubscription,
    Budget,
    Endpoint,
    GuardIndex,
    LambdaFunction,
    Policy,
    Role,
    ScopeFact,
    guard_index,
    is_billing_alarm,
)
from costbreaker.inventory import Inventory, Location
from costbreaker.rules import rule

BILLING_PERIOD = 21600  # seconds: EstimatedCharges arrives a few times a day
BILLING_REGION = "us-east-1"
_PROMISE = re.compile(
    r"\b(\d+\s*-?\s*(?:min|mins|minute|minutes|sec|secs|second|seconds)\b|minutes?\b|"
    r"real[- ]?time|immediate(?:ly)?|instant(?:ly)?|seconds?\b)",
    re.IGNORECASE,
)


def index(inventory: Inventory, config: Config) -> GuardIndex:
    return guard_index(inventory, config.required_actions)


def _line(location: Location | None) -> str:
    return f"line {location.line}" if location is not None and location.line else "its declaration"


# ---- CB301 ------------------------------------------------------------------------------


def _all_scopes(inventory: Inventory) -> dict[str, tuple[str, str]]:
    """scope → (source, first file) for every scope scanned, facts or not."""
    scopes: dict[str, tuple[str, str]] = {}
    for fact in inventory.facts:
        if fact.scope not in scopes:
            scopes[fact.scope] = (fact.source, fact.location.file)
        elif fact.source == "account":
            scopes[fact.scope] = ("account", fact.location.file)
    for file in sorted(inventory.files_scanned):
        scope = str(PurePosixPath(file).parent) if file.endswith(".tf") else file
        scopes.setdefault(scope, ("iac", file))
    return scopes


@rule(
    id="CB301",
    title="No billing guard in scope",
    severity="high",
    description=(
        "No EstimatedCharges alarm, no budget with a notification and no anomaly monitor "
        "with a subscription. For IaC this applies only where scope.guardrail_stack is "
        "true; an account scan always checks it."
    ),
    remediation=(
        "Add a us-east-1 EstimatedCharges alarm with a subscribed topic, an AWS Budgets "
        "budget with notifications and a budget action, and a Cost Anomaly Detection "
        "monitor with a subscription."
    ),
    help="""
Billing guards are slow, but they are the backstop when everything else fails. A
guardrail stack (or an account) without any of them learns about a runaway from the
invoice.
""",
    remediation_template="billing-guards",
    tags=("billing",),
)
def cb301(inventory: Inventory, config: Config) -> Iterator[Finding]:
    guards = index(inventory, config)
    for scope, (source, file) in sorted(_all_scopes(inventory).items()):
        if source != "account" and not config.guardrail_stack:
            continue
        if guards.billing_alarms(scope):
            continue
        if any(b.notifications for b in guards.of(Budget, scope)):
            continue
        if any(guards.monitor_subscriptions(m) for m in guards.of(AnomalyMonitor, scope)):
            continue
        fact = ScopeFact(
            address=scope,
            type="scope",
            location=Location(file, 1 if file and source != "account" else 0, 0, scope),
            scope=scope,
            source="account" if source == "account" else "iac",
        )
        what = "account" if source == "account" else "guardrail stack"
        yield cb301.hit(
            fact,
            f"The {what} {scope} has no billing guard at all: no EstimatedCharges alarm, no "
            "budget with a notification, no Cost Anomaly Detection monitor with a "
            "subscription. A runaway would first show up on the invoice.",
        )


# ---- CB302 ------------------------------------------------------------------------------


def alarm_problems(alarm: Alarm) -> list[tuple[str, Location | None]]:
    """Why a billing alarm cannot work as written, each at its attribute."""
    problems: list[tuple[str, Location | None]] = []
    description = alarm.description.text() or ""
    promise = _PROMISE.search(description)
    for metric in alarm.metrics:
        namespace, name = metric.namespace.text(), metric.metric.text()
        if namespace != "AWS/Billing" and name != "EstimatedCharges":
            continue
        if namespace != "AWS/Billing":
            shown = namespace if namespace is not None else metric.namespace.describe()
            problems.append(
                (
                    f"its namespace is {shown}, but EstimatedCharges exists only in AWS/Billing",
                    metric.namespace.location or metric.location,
                )
            )
        if name != "EstimatedCharges":
            shown = name if name is not None else metric.metric.describe()
            problems.append(
                (
                    f"its metric is {shown}, but the billing metric is EstimatedCharges",
                    metric.metric.location or metric.location,
                )
            )
        if metric.dimensions is not None and "Currency" not in metric.dimensions:
            problems.append(
                (
                    "it has no Currency dimension: AWS/Billing publishes EstimatedCharges "
                    "per currency (Currency=USD), so without it the alarm watches a metric "
                    "that has no data",
                    metric.location,
                )
            )
        period = metric.period.number()
        if period is not None and period < BILLING_PERIOD:
            promised = f" (its description promises '{promise.group(0)}')" if promise else ""
            problems.append(
                (
                    f"its period is {int(period)} s{promised}: EstimatedCharges is published "
                    f"only a few times a day, so a period under {BILLING_PERIOD} s (6 h) "
                    "mostly sees no data",
                    metric.period.location or metric.location,
                )
            )
        elif metric.period.kind == "unresolved":
            problems.append(
                (
                    f"its period cannot be checked against {BILLING_PERIOD} s: {metric.period.why}",
                    metric.period.location or metric.location,
                )
            )
    region = alarm.region.text()
    if region is not None and region != BILLING_REGION:
        problems.append(
            (
                f"it is deployed in {region}, but EstimatedCharges exists only in us-east-1",
                alarm.region.location,
            )
        )
    treat = alarm.treat_missing_data
    if treat.is_absent:
        problems.append(
            (
                "TreatMissingData is not set: between billing updates the alarm sits in "
                "INSUFFICIENT_DATA by default; choose how missing data counts explicitly",
                alarm.location,
            )
        )
    elif treat.text() == "notBreaching" and promise:
        problems.append(
            (
                f"missing data counts as OK (notBreaching) while the description promises "
                f"'{promise.group(0)}': between billing updates it reports all clear",
                treat.location,
            )
        )
    return problems


@rule(
    id="CB302",
    title="Billing alarm cannot work as written",
    severity="high",
    description=(
        "A billing alarm is not on AWS/Billing EstimatedCharges with the Currency dimension, "
        "has a period below 21600 s, is deployed outside us-east-1 (where known), or leaves "
        "missing data implicit (or treats it as OK while its description promises minutes). "
        "Metric-math alarms on the billing metric count."
    ),
    remediation=(
        "Alarm on AWS/Billing EstimatedCharges with Currency=USD, Period 21600, "
        "TreatMissingData set explicitly, in us-east-1."
    ),
    help="""
`EstimatedCharges` exists only in us-east-1, is cumulative month-to-date, needs the
`Currency` dimension and is refreshed a few times a day: an alarm with a five-minute
period mostly sees no data, and one without `Currency` watches nothing.

**Fix** (CloudFormation, deployed in us-east-1):
```yaml
BillingAlarm:
  Type: AWS::CloudWatch::Alarm
  Properties:
    Namespace: AWS/Billing
    MetricName: EstimatedCharges
    Dimensions: [{Name: Currency, Value: USD}]
    Statistic: Maximum
    Period: 21600
    EvaluationPeriods: 1
    Threshold: 500
    ComparisonOperator: GreaterThanThreshold
    TreatMissingData: missing
    AlarmActions: [!Ref BillingTopic]
```
""",
    needs=(Alarm,),
    remediation_template="billing-alarm",
    tags=("billing",),
)
def cb302(inventory: Inventory, config: Config) -> Iterator[Finding]:
    for alarm in inventory.of(Alarm):
        if not is_billing_alarm(alarm):
            continue
        problems = alarm_problems(alarm)
        if not problems:
            continue
        listed = "; ".join(f"({i}) {text}" for i, (text, _) in enumerate(problems, 1))
        yield cb302.hit(
            alarm,
            f"Billing alarm {alarm.address} cannot work as written: {listed}.",
            next((loc for _, loc in problems if loc is not None), None),
            evidence={"problems": [text for text, _ in problems]},
        )


# ---- CB303 ------------------------------------------------------------------------------


def _silent(guards: GuardIndex, scope: str, endpoints: list[Endpoint]) -> list[str]:
    """The SNS topics (in scope) among the endpoints that have no subscription, when every
    endpoint is such a topic; [] when any endpoint reaches someone or cannot be known."""
    silent = []
    for endpoint in endpoints:
        if endpoint.protocol not in ("sns", ""):
            return []
        subscribed = guards.topic_has_subscriber(scope, endpoint.target)
        if subscribed is not False:
            return []
        silent.append(endpoint.target.address)
    return silent


@rule(
    id="CB303",
    title="Alarm or budget notifies nobody",
    severity="high",
    description=(
        "A billing alarm, budget or anomaly monitor has no actions or subscribers, or "
        "notifies only SNS topics that have no subscription in scope."
    ),
    remediation=(
        "Give the alarm an AlarmActions topic and the topic a subscription (e-mail, chat, or "
        "the breaker function); give budgets notifications with subscribers."
    ),
    help="""
An SNS topic without a subscription accepts the alarm's message and delivers it to no
one. Follow the chain: alarm or budget → topic → subscription.
""",
    needs=(Alarm, Budget, AnomalyMonitor, AnomalySubscription),
    remediation_template="billing-alarm",
    tags=("billing",),
)
def cb303(inventory: Inventory, config: Config) -> Iterator[Finding]:
    guards = index(inventory, config)
    for alarm in inventory.of(Alarm):
        if not is_billing_alarm(alarm):
            continue
        message = ""
        where = alarm.actions_location
        if alarm.actions_enabled.kind == "literal" and str(alarm.actions_enabled.value).lower() in (
            "false",
        ):
            message = "its actions are disabled (ActionsEnabled is false), so it notifies nobody"
            where = alarm.actions_enabled.location
        elif not alarm.actions:
            message = "it has no alarm actions, so when it fires nobody hears"
        else:
            topics = [Endpoint("sns", ref, ref.location or alarm.location) for ref in alarm.actions]
            silent = _silent(guards, alarm.scope, topics)
            if silent:
                message = (
                    f"it notifies topic {', '.join(silent)}, which has no subscription in "
                    "scope: the message goes nowhere"
                )
                where = alarm.actions[0].location or where
        if message:
            yield cb303.hit(alarm, f"Billing alarm {alarm.address}: {message}.", where)
    for budget in inventory.of(Budget):
        message = ""
        where = budget.notifications_location
        if not budget.notifications:
            message = "it has no notification, so it records spend and tells nobody"
        else:
            subscribers = [s for n in budget.notifications for s in n.subscribers]
            if not subscribers:
                message = "its notifications have no subscribers"
            else:
                silent = _silent(guards, budget.scope, subscribers)
                if silent:
                    message = (
                        f"it notifies only topic {', '.join(silent)}, which has no "
                        "subscription in scope"
                    )
        if message:
            yield cb303.hit(budget, f"Budget {budget.address}: {message}.", where)
    for monitor in inventory.of(AnomalyMonitor):
        if not guards.monitor_subscriptions(monitor):
            yield cb303.hit(
                monitor,
                f"Cost anomaly monitor {monitor.address} has no subscription in scope, so the "
                "anomalies it finds are shown to nobody.",
            )
    for subscription in inventory.of(AnomalySubscription):
        silent = _silent(guards, subscription.scope, list(subscription.subscribers))
        if silent or not subscription.subscribers:
            what = (
                f"notifies only topic {', '.join(silent)}, which has no subscription in scope"
                if silent
                else "has no subscribers"
            )
            yield cb303.hit(
                subscription, f"Cost anomaly subscription {subscription.address} {what}."
            )


# ---- CB304 ------------------------------------------------------------------------------


@rule(
    id="CB304",
    title="Budget notifies but enforces nothing",
    severity="medium",
    description=(
        "A budget has notifications but no budget action (APPLY_IAM_POLICY, "
        "APPLY_SCP_POLICY or RUN_SSM_DOCUMENTS) to enforce it."
    ),
    remediation=(
        "Add an AWS::Budgets::BudgetsAction (aws_budgets_budget_action) that applies the "
        "breaker policy to the agent's role when the budget is exceeded."
    ),
    help="""
A budget notification is an e-mail. A budget action applies the breaker policy (or an
SCP, or runs an SSM document) without waiting for a person to read it.
""",
    needs=(Budget,),
    remediation_template="budget-action",
    tags=("billing",),
)
def cb304(inventory: Inventory, config: Config) -> Iterator[Finding]:
    guards = index(inventory, config)
    for budget in inventory.of(Budget):
        if budget.notifications and not guards.budget_actions(budget):
            yield cb304.hit(
                budget,
                f"Budget {budget.address} notifies but enforces nothing: no budget action "
                "(APPLY_IAM_POLICY, APPLY_SCP_POLICY or RUN_SSM_DOCUMENTS) refers to it, so "
                "when spend passes the limit an e-mail is all that happens.",
                budget.notifications_location,
            )


# ---- CB305 ------------------------------------------------------------------------------


@rule(
    id="CB305",
    title="Only delayed billing signals guard model calls",
    severity="medium",
    description=(
        "A scope runs agents or model calls (principals that run code and are granted "
        "model invocation by name, not merely through '*'), but no real-time detector "
        "exists: no EventBridge rule on agent or model-call events targeting a detector "
        "function."
    ),
    remediation=(
        "Emit an event per model call and add an EventBridge rule on those events that "
        "targets a detector function able to attach the breaker."
    ),
    help="""
Billing data arrives hours late and Cost Anomaly Detection about a day late; a token
loop can spend a year's budget inside that delay. A detector — an EventBridge rule on
model-call events (for example source `costbreaker.agent`) targeting a function —
notices a runaway in seconds.
""",
    needs=(Role, LambdaFunction, Policy),
    remediation_template="detector",
    tags=("billing", "detection"),
)
def cb305(inventory: Inventory, config: Config) -> Iterator[Finding]:
    guards = index(inventory, config)
    model = {a.lower() for a in guards.model_actions}
    for scope in guards.scopes():
        callers = [
            (w, [a for a, g in w.grants.items() if a.lower() in model and g.explicit])
            for w in guards.workloads(scope)
        ]
        callers = [(w, actions) for w, actions in callers if actions]
        if not callers or guards.detectors(scope):
            continue
        billing = bool(
            guards.billing_alarms(scope)
            or any(b.notifications for b in guards.of(Budget, scope))
            or guards.of(AnomalySubscription, scope)
        )
        guard_text = (
            "only delayed billing signals guard it"
            if billing
            else "not even a billing signal guards it"
        )
        first, actions = callers[0]
        others = f" (and {len(callers) - 1} more principals)" if len(callers) > 1 else ""
        yield cb305.hit(
            first.fact,
            f"{first.label[0].upper()}{first.label[1:]} can invoke models "
            f"({', '.join(actions[:4])}){others}, but {guard_text}: no EventBridge rule on "
            "agent or model-call events targets a detector function. Billing data arrives "
            "hours late; a token loop can spend the month's budget before anyone knows.",
            evidence={"principals": [w.fact.address for w, _ in callers]},
        )
