"""CB2xx: the breaker policy — one that would really stop a runaway.

The policies people copy from blog posts are often invalid (`Effect: Denies`, actions
that do not exist), toothless (no model invocation, limited to one region) or never
attached by anything. These rules read the policies as IAM does (scanner/iam.py) and
follow the references around them (scanner/guards.py); they never open a file.

What counts as a breaker: a managed or inline policy or an SCP whose Deny statements
(or statements meant as Deny, however mistyped) name required actions of at least two
categories of `breaker.required_actions`, or one when the policy is named as a breaker.
A single-purpose Deny (an instance-type SCP, a model allow-list) is not one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from costbreaker import iam
from costbreaker.config import Config
from costbreaker.findings import Finding
from costbreaker.guards import (
    DATA_PLANE_WRITES,
    GuardIndex,
    LambdaFunction,
    Policy,
    Role,
    guard_index,
)
from costbreaker.inventory import Inventory, Location, Resource
from costbreaker.rules import rule, scope_word

_POLICY_FACTS = (Policy, Role, LambdaFunction)


def index(inventory: Inventory, config: Config) -> GuardIndex:
    return guard_index(inventory, config.required_actions)


def line_of(location: Location) -> str:
    return f"line {location.line}" if location.line else "its declaration"


def names(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


# ---- CB201 ------------------------------------------------------------------------------


@rule(
    id="CB201",
    title="No breaker for workloads that can scale or invoke models",
    severity="high",
    description=(
        "Principals in scope that run code (functions, tasks, instances, agents) may "
        "launch compute, scale out or invoke models, but no breaker policy or SCP exists "
        "whose Deny statements cover the breaker action set."
    ),
    remediation=(
        "Add a breaker: a managed policy (or SCP) that denies breaker.required_actions, "
        "wired to a budget action or a detector that attaches it to the agent's role."
    ),
    help="""
An agent stuck in a loop scales with its own bug. The breaker is the deny policy that,
attached to the agent's execution role on a trip, stops new provisioning, scale-out and
model calls at once. Without one, the only stop is a person reading an e-mail hours later.

**Fix** (CloudFormation):
```yaml
Breaker:
  Type: AWS::IAM::ManagedPolicy
  Properties:
    PolicyDocument:
      Version: '2012-10-17'
      Statement:
        - Sid: CostBreaker
          Effect: Deny
          Action: [ec2:RunInstances, ec2:CreateFleet, ec2:RequestSpotFleet,
                   ec2:RequestSpotInstances, autoscaling:*, application-autoscaling:*,
                   eks:CreateCluster, eks:CreateNodegroup, eks:UpdateNodegroupConfig,
                   ecs:CreateService, ecs:UpdateService, bedrock:InvokeModel*,
                   bedrock:InvokeAgent, bedrock:InvokeFlow, sagemaker:InvokeEndpoint*]
          Resource: '*'
```
""",
    needs=_POLICY_FACTS,
    remediation_template="breaker-policy",
    tags=("breaker",),
)
def cb201(inventory: Inventory, config: Config) -> Iterator[Finding]:
    guards = index(inventory, config)
    for scope in guards.scopes():
        workloads = guards.workloads(scope)
        if not workloads or guards.breakers(scope):
            continue
        described = [
            f"{w.label} may {names(list(w.grants), 4)} ({w.first_grant().source})"
            for w in workloads
        ]
        first = workloads[0]
        more = f"; and {len(described) - 4} more" if len(described) > 4 else ""
        yield cb201.hit(
            first.fact,
            f"No breaker policy in this {scope_word(first.fact.source)}, yet "
            f"{'; '.join(described[:4])}{more}. Nothing here can deny provisioning, scale-out "
            "or model calls when a loop runs away.",
            evidence={
                "workloads": [
                    {"principal": w.fact.address, "actions": sorted(w.grants)} for w in workloads
                ]
            },
        )


# ---- CB202 ------------------------------------------------------------------------------


def statement_name(statement: iam.Statement) -> str:
    return f"statement '{statement.sid}'" if statement.sid else f"statement {statement.index + 1}"


def document_problems(document: iam.Document) -> list[tuple[str, Location]]:
    """What makes statements of a document invalid, each at its line.

    Only what IAM accepts silently: a malformed document (no Statement, bad JSON) is
    rejected when it is deployed, so it is no finding of ours."""
    problems: list[tuple[str, Location]] = []
    for statement in document.statements:
        if statement.effect is None and statement.effect_why == "missing":
            problems.append(
                (
                    f"{statement_name(statement)} has no Effect, so IAM rejects or ignores it",
                    statement.location,
                )
            )
        elif statement.effect is not None and statement.effect not in ("Allow", "Deny"):
            meant = "deny" if statement.intends_deny else "do"
            problems.append(
                (
                    f"{statement_name(statement)} has Effect '{statement.effect}', but IAM "
                    f"accepts exactly 'Allow' or 'Deny' (case-sensitive), so it cannot "
                    f"{meant} anything",
                    statement.effect_location,
                )
            )
        for entry in statement.actions:
            if entry.text is None:
                continue
            problem = iam.action_problem(entry.text)
            if problem:
                effect = "denies" if statement.intends_deny else "grants"
                problems.append(
                    (f"{problem}; it matches nothing, so it {effect} nothing", entry.location)
                )
    return problems


@rule(
    id="CB202",
    title="Invalid policy statement",
    severity="critical",
    description=(
        "A policy statement has an Effect other than exactly Allow or Deny, or an action "
        "(or wildcard) that matches no real IAM action (checked against the IAM action data "
        "cfn-lint ships)."
    ),
    remediation=(
        "Write Effect exactly 'Allow' or 'Deny' and use real IAM actions (service:Action; a "
        "wildcard must match at least one)."
    ),
    help="""
IAM does not warn about an action that does not exist: `autoscaling:ScaleOut` or
`bedrock:Converse` simply match nothing. In a breaker this fails silently — the Deny
stops nothing. `Effect` is case-sensitive and knows only `Allow` and `Deny`.

There is no `bedrock:Converse` action: `bedrock:InvokeModel` and
`bedrock:InvokeModelWithResponseStream` govern Converse and ConverseStream.

**Fix**: `Effect: Deny`, and actions from the Service Authorization Reference, for
example `autoscaling:SetDesiredCapacity` instead of `autoscaling:ScaleOut`.
""",
    needs=_POLICY_FACTS,
    remediation_template="breaker-policy",
    tags=("breaker", "iam"),
)
def cb202(inventory: Inventory, config: Config) -> Iterator[Finding]:
    grouped: dict[tuple[str, str], list[tuple[str, Location]]] = defaultdict(list)
    facts: dict[tuple[str, str], Resource] = {}
    for fact in inventory.of(Role):
        if fact.trust is not None:
            key = (fact.scope, fact.address)
            facts.setdefault(key, fact)
            grouped[key].extend(
                (f"trust policy: {p}", loc) for p, loc in document_problems(fact.trust)
            )
    for policy in inventory.of(Policy):
        # An incomplete merged document is unknown as a whole, but the statements it does
        # show are still written as they are.
        document = policy.document or policy.partial
        if document is None:
            continue
        if policy.borrowed:
            # Statements merged in from another document are reported on that one.
            document = iam.Document(
                tuple(s for i, s in enumerate(document.statements) if i not in policy.borrowed),
                document.location,
                document.problems,
            )
        key = (policy.scope, policy.address)
        facts.setdefault(key, inventory.find(policy.scope, policy.address) or policy)
        label = (
            f"inline policy '{policy.name}': "
            if policy.policy_kind == "inline" and (policy.name)
            else ""
        )
        grouped[key].extend((label + p, loc) for p, loc in document_problems(document))
    for key, problems in grouped.items():
        if not problems:
            continue
        fact = facts[key]
        problems.sort(key=lambda p: (p[1].line, p[1].column))
        listed = "; ".join(
            f"({i}) {line_of(loc)}: {text}" for i, (text, loc) in enumerate(problems, 1)
        )
        count = "an invalid part" if len(problems) == 1 else f"{len(problems)} invalid parts"
        yield cb202.hit(
            fact,
            f"{fact.address} has {count}: {listed}.",
            problems[0][1],
            evidence={"problems": [{"line": loc.line, "problem": text} for text, loc in problems]},
        )


# ---- CB203 ------------------------------------------------------------------------------


@rule(
    id="CB203",
    title="Breaker does not cover the required actions",
    severity="high",
    description=(
        "A breaker's Deny statements do not cover breaker.required_actions: provisioning, "
        "scale-out, cluster and node-group creation and model invocation. The finding names "
        "the missing actions."
    ),
    remediation="Deny every action of breaker.required_actions (wildcards such as "
    "bedrock:InvokeModel* are fine) in a statement with Effect exactly 'Deny'.",
    help="""
A breaker that denies `ec2:RunInstances` but not `bedrock:InvokeModel` stops the fleet
and lets the token loop run on. The required set (configurable as
`breaker.required_actions`) is provisioning (`ec2:RunInstances`, fleets, spot),
scale-out (`autoscaling:SetDesiredCapacity`, `UpdateAutoScalingGroup`, `ExecutePolicy`,
scaling policies), cluster and node-group creation, and model invocation
(`bedrock:InvokeModel*`, agents and flows, `sagemaker:InvokeEndpoint*`).
""",
    needs=(Policy,),
    remediation_template="breaker-policy",
    tags=("breaker",),
)
def cb203(inventory: Inventory, config: Config) -> Iterator[Finding]:
    guards = index(inventory, config)
    total = sum(len(v) for v in config.required_actions.values())
    for scope in guards.scopes():
        for breaker in guards.breakers(scope):
            if not breaker.missing:
                continue
            missing = [a for acts in breaker.missing.values() for a in acts]
            parts = [f"{cat}: {names(acts)}" for cat, acts in breaker.missing.items()]
            cause = ""
            invalid = [s for s in breaker.statements if not s.is_deny]
            if invalid:
                s = invalid[0]
                cause = (
                    f" (its {statement_name(s)} names some of them, but with Effect "
                    f"'{s.effect}' instead of 'Deny' it denies nothing)"
                )
            first = breaker.statements[0]
            yield cb203.hit(
                breaker.policy,
                f"Breaker {breaker.label} does not deny {len(missing)} of the {total} actions in "
                f"breaker.required_actions{cause}. Still allowed — "
                f"{'; '.join(parts)}. A runaway can keep doing all of these.",
                first.location,
                evidence={"missing": breaker.missing, "covered": sorted(breaker.covered)},
            )


# ---- CB204 ------------------------------------------------------------------------------


@rule(
    id="CB204",
    title="Breaker weakened by its condition or resource scope",
    severity="high",
    description=(
        "A breaker's Deny is limited by an aws:RequestedRegion condition, by another "
        "condition a runaway need not match, or to resources that leave the workload out."
    ),
    remediation=(
        "Remove the region condition and narrow resource scopes from the breaker's Deny; "
        "keep only conditions that select the tripped principal (a principal tag) or exempt "
        "a break-glass role."
    ),
    help="""
A Deny limited by `aws:RequestedRegion` to `us-east-1` stops nothing in `eu-west-1`, and
an agent whose credentials leak or whose code picks another region runs on. Conditions
such as `aws:MultiFactorAuthPresent` or `aws:SourceIp` never match an agent, and a
Resource list of some models or groups leaves the others allowed.
""",
    needs=(Policy,),
    remediation_template="breaker-policy",
    tags=("breaker",),
)
def cb204(inventory: Inventory, config: Config) -> Iterator[Finding]:
    guards = index(inventory, config)
    for scope in guards.scopes():
        for breaker in guards.breakers(scope):
            weaknesses = guards.weaknesses(breaker)
            if not weaknesses:
                continue
            listed = "; ".join(f"{w.what} ({line_of(w.location)})" for w in weaknesses)
            yield cb204.hit(
                breaker.policy,
                f"Breaker {breaker.label} is weakened: {listed}.",
                weaknesses[0].location,
                evidence={"weaknesses": [w.what for w in weaknesses]},
            )


# ---- CB205 ------------------------------------------------------------------------------


@rule(
    id="CB205",
    title="Breaker not wired to anything that can trip it",
    severity="medium",
    description=(
        "No budget action applies the breaker, and no alarm → topic → function path or "
        "detector rule leads to a function that attaches it."
    ),
    remediation=(
        "Reference the breaker from an AWS::Budgets::BudgetsAction (APPLY_IAM_POLICY or "
        "APPLY_SCP_POLICY), or from a function invoked by an alarm's topic or a detector "
        "rule that attaches it."
    ),
    help="""
A breaker that nothing attaches is a document in a drawer. Wire it: a budget action that
applies it to the agent's role when spend passes a threshold, and/or a detector (an
EventBridge rule on model-call events targeting a function) that attaches it within
seconds. A breaker attached permanently (to a role, or an SCP with targets) is in force
and needs no wiring.
""",
    needs=(Policy,),
    remediation_template="breaker-wiring",
    tags=("breaker",),
)
def cb205(inventory: Inventory, config: Config) -> Iterator[Finding]:
    guards = index(inventory, config)
    for scope in guards.scopes():
        for breaker in guards.breakers(scope):
            if guards.in_force(breaker.policy):
                continue
            how, notes = guards.wiring(breaker.policy)
            if how:
                continue
            extra = f" ({'; '.join(notes)})" if notes else ""
            yield cb205.hit(
                breaker.policy,
                f"Breaker {breaker.label} is not wired to anything that can trip it: no budget "
                "action applies it, and no function invoked by an alarm, topic or event rule "
                f"attaches it{extra}. When spend runs away, nothing will attach it.",
                breaker.policy.location,
            )


# ---- CB206 ------------------------------------------------------------------------------

_DRAIN_KEYS = ("aws:currenttime", "aws:epochtime")


def _has_drain(statement: iam.Statement) -> bool:
    return any(c.key.lower() in _DRAIN_KEYS for c in statement.conditions)


@rule(
    id="CB206",
    title="Breaker risks state corruption",
    severity="medium",
    description=(
        "A breaker denies '*' or data-plane writes (for example dynamodb:PutItem, "
        "rds-data:ExecuteStatement, s3:PutObject) with no drain exception."
    ),
    remediation=(
        "Deny provisioning, scale-out and model calls, not '*'; leave data-plane writes "
        "allowed, or deny them only after a drain window (a DateGreaterThan aws:CurrentTime "
        "condition)."
    ),
    help="""
Revoking a writer's credentials mid-transaction can leave a database half written. The
default breaker denies new provisioning, scale-out and model calls and lets in-flight
data-plane writes finish; if writes must stop too, deny them in a separate statement
conditioned on `aws:CurrentTime` after a drain window.
""",
    needs=(Policy,),
    remediation_template="breaker-policy",
    tags=("breaker",),
)
def cb206(inventory: Inventory, config: Config) -> Iterator[Finding]:
    guards = index(inventory, config)
    for scope in guards.scopes():
        for breaker in guards.breakers(scope):
            for statement in breaker.document.statements:
                if not statement.is_deny or _has_drain(statement):
                    continue
                writes = [w for w in DATA_PLANE_WRITES if statement.names(w)]
                if not writes:
                    continue
                star = next((e for e in statement.actions if e.text in ("*", "*:*")), None)
                if star is not None and not statement.not_action:
                    what = "denies every action ('*')"
                    where = star.location
                elif statement.not_action:
                    what = "denies every action except its NotAction list"
                    where = statement.action_location
                else:
                    entry = statement.naming_entry(writes[0])
                    what = "denies data-plane writes"
                    where = entry.location if entry else statement.action_location
                yield cb206.hit(
                    breaker.policy,
                    f"Breaker {breaker.label} {what}, including {names(writes, 5)}, with no "
                    "drain exception: tripping it mid-transaction can leave data half written. "
                    "Deny provisioning, scale-out and model calls instead, or deny writes only "
                    "after a drain window.",
                    where,
                    evidence={"writes": writes},
                )
                break
