"""Facts of the breaker and billing families, and what they mean together.

Why: a guard is only as good as the chain it belongs to. A breaker policy protects
nothing unless something can attach it (a budget action, or an alarm → topic → function
path); a billing alarm notifies nobody if its topic has no subscription; a Lambda
function's risk depends on the policies of its role. Sources (CloudFormation, Terraform
HCL and plan, later the account scan) turn their resources into the facts below, with
references between them kept as in-scope addresses. `GuardIndex` then follows those
references once per scan, so every rule of CB105/CB2xx/CB3xx reads the same answers
instead of re-walking templates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from costbreaker import iam
from costbreaker.inventory import Inventory, Location, Resource, Value

# ---- references -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference from one fact to another: the in-scope address it resolves to, or the
    literal text (an ARN, a name, an e-mail address) when it points outside the scope."""

    address: str = ""
    text: str = ""
    location: Location | None = None

    @property
    def known(self) -> bool:
        return bool(self.address or self.text)

    def describe(self) -> str:
        return self.address or self.text or "an unresolved value"


# ---- IAM facts ---------------------------------------------------------------------------


@dataclass(kw_only=True)
class Policy(Resource):
    """An identity policy document in force somewhere, or one that can be attached.

    `policy_kind` is managed (a customer managed policy), inline (of a role, user, group
    or SAM function: `owner`), scp (an Organizations policy) or document (a Terraform
    `aws_iam_policy_document`, which other policies use through `document_ref`).
    """

    policy_kind: str
    name: str = ""
    document: iam.Document | None = None
    document_ref: str = ""  # address of the data.aws_iam_policy_document it uses
    unresolved: str = ""  # why the document cannot be read statically
    # A merged aws_iam_policy_document with a part that cannot be read has no `document`
    # (it is unknown, never complete); `partial` keeps what could be read, so that CB202
    # still checks the statements written there.
    partial: iam.Document | None = None
    # Positions in `document` (or `partial`) of statements merged in from other in-scope
    # documents: CB202 reports those on the document that declares them, not twice.
    borrowed: frozenset[int] = frozenset()
    owner: str = ""  # inline: the role, user, group or function it belongs to
    attached_to: tuple[Ref, ...] = ()  # roles/users/groups/targets it is attached to
    description: str = ""


@dataclass(kw_only=True)
class Role(Resource):
    """An IAM role: who can assume it and which managed policies and boundary it has."""

    role_name: Value = field(default_factory=Value.absent)
    trust: iam.Document | None = None
    trust_ref: str = ""
    managed: tuple[Ref, ...] = ()  # ManagedPolicyArns / managed_policy_arns
    boundary: Ref | None = None


@dataclass(kw_only=True)
class PolicyAttachment(Resource):
    """A separate attachment of a policy to principals or targets (Terraform)."""

    policy: Ref
    principals: tuple[Ref, ...] = ()


@dataclass(kw_only=True)
class LambdaFunction(Resource):
    """A Lambda function (plain or SAM) with its role and reserved concurrency.

    `role` is None for a SAM function without `Role`: SAM then creates a role from the
    function's `Policies`, which become inline Policy facts owned by the function, and
    AWS managed policy names in `managed`.
    """

    role: Ref | None
    reserved_concurrency: Value
    managed: tuple[Ref, ...] = ()
    sam_templates: tuple[str, ...] = ()  # SAM policy template names in Policies
    references: tuple[str, ...] = ()  # in-scope addresses its environment refers to
    sam: bool = False


# ---- notification and trigger facts ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricRef:
    """A metric an alarm watches: the plain metric, or one MetricStat of metric math."""

    namespace: Value
    metric: Value
    dimensions: dict[str, Value] | None  # None when the dimensions are not static
    period: Value
    location: Location


@dataclass(kw_only=True)
class Alarm(Resource):
    """A CloudWatch metric alarm (only its billing-relevant parts)."""

    metrics: tuple[MetricRef, ...]  # the plain metric, or the MetricStats of metric math
    treat_missing_data: Value
    description: Value
    actions: tuple[Ref, ...]
    actions_location: Location | None = None
    actions_enabled: Value = field(default_factory=Value.absent)
    region: Value = field(default_factory=Value.absent)  # where the source tells it
    math: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A subscriber: an SNS subscription endpoint or a budget/anomaly subscriber."""

    protocol: str  # email, sns, lambda, sqs, https, ... (lower case), "" when unknown
    target: Ref
    location: Location


@dataclass(kw_only=True)
class Topic(Resource):
    """An SNS topic with the subscriptions written inside it."""

    subscriptions: tuple[Endpoint, ...] = ()


@dataclass(kw_only=True)
class Subscription(Resource):
    """A subscription of an endpoint to a topic (AWS::SNS::Subscription, SAM SNS events,
    aws_sns_topic_subscription)."""

    topic: Ref
    endpoint: Endpoint


@dataclass(frozen=True, slots=True)
class BudgetNotification:
    location: Location
    subscribers: tuple[Endpoint, ...]


@dataclass(kw_only=True)
class Budget(Resource):
    """An AWS Budgets budget and its notifications."""

    budget_name: Value = field(default_factory=Value.absent)
    notifications: tuple[BudgetNotification, ...] = ()
    notifications_location: Location | None = None


@dataclass(kw_only=True)
class BudgetAction(Resource):
    """A budget action: what it applies (a policy or SCP, or an SSM document) to whom."""

    budget: Ref
    action_type: Value
    policy: Ref | None = None
    targets: tuple[Ref, ...] = ()
    subscribers: tuple[Endpoint, ...] = ()


@dataclass(kw_only=True)
class AnomalyMonitor(Resource):
    """A Cost Anomaly Detection monitor."""


@dataclass(kw_only=True)
class AnomalySubscription(Resource):
    """A Cost Anomaly Detection subscription: which monitors notify whom."""

    monitors: tuple[Ref, ...] = ()
    subscribers: tuple[Endpoint, ...] = ()


@dataclass(kw_only=True)
class EventRule(Resource):
    """An EventBridge rule: its pattern (None when not static) and its targets."""

    pattern: Any = None
    pattern_location: Location | None = None
    schedule: Value = field(default_factory=Value.absent)
    targets: tuple[Ref, ...] = ()
    enabled: bool = True


@dataclass(kw_only=True)
class EventTarget(Resource):
    """A separate target of an EventBridge rule (Terraform aws_cloudwatch_event_target)."""

    rule: Ref
    target: Ref


@dataclass(kw_only=True)
class ScopeFact(Resource):
    """A whole scope (template, module, account), for findings about what it lacks."""


# ---- well-known AWS managed policies -------------------------------------------------------

# Only the part that matters here: whether a principal can invoke models or launch
# compute. The documents are summaries of the AWS managed policies of these names, not
# copies; a name that is not listed is treated as granting none of those actions.
AWS_MANAGED: dict[str, dict[str, Any]] = {
    "AdministratorAccess": {"Effect": "Allow", "Action": "*", "Resource": "*"},
    "PowerUserAccess": {
        "Effect": "Allow",
        "NotAction": ["iam:*", "organizations:*", "account:*"],
        "Resource": "*",
    },
    "AmazonBedrockFullAccess": {"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"},
    "AmazonSageMakerFullAccess": {
        "Effect": "Allow",
        "Action": ["sagemaker:*", "application-autoscaling:*"],
        "Resource": "*",
    },
    "AmazonEC2FullAccess": {
        "Effect": "Allow",
        "Action": ["ec2:*", "autoscaling:*"],
        "Resource": "*",
    },
    "AutoScalingFullAccess": {"Effect": "Allow", "Action": "autoscaling:*", "Resource": "*"},
    "AmazonECS_FullAccess": {
        "Effect": "Allow",
        "Action": ["ecs:*", "application-autoscaling:*", "autoscaling:*"],
        "Resource": "*",
    },
    "AWSBatchFullAccess": {"Effect": "Allow", "Action": "batch:*", "Resource": "*"},
}

# SAM policy templates that grant an action that launches compute.
SAM_TEMPLATES: dict[str, tuple[str, ...]] = {
    "EcsRunTaskPolicy": ("ecs:RunTask",),
    "SageMakerCreateEndpointPolicy": ("sagemaker:CreateEndpoint",),
}


def aws_managed_name(text: str) -> str:
    """`AdministratorAccess` from its name or an `arn:aws:iam::aws:policy/...` ARN."""
    if ":iam::aws:policy/" in text:
        return text.rsplit("/", 1)[-1]
    return text if "/" not in text and ":" not in text else ""


@dataclass(frozen=True)
class _Known:
    """An AWS managed policy or SAM template, parsed once."""

    name: str
    document: iam.Document


_KNOWN: dict[str, _Known] = {}


def known_document(name: str) -> iam.Document | None:
    """The summary document of a well-known AWS managed policy or SAM template."""
    if name in _KNOWN:
        return _KNOWN[name].document
    statement: dict[str, Any] | None = AWS_MANAGED.get(name)
    if statement is None and name in SAM_TEMPLATES:
        statement = {"Effect": "Allow", "Action": list(SAM_TEMPLATES[name]), "Resource": "*"}
    if statement is None:
        return None
    where = Location(address=name)
    document = iam.parse_document({"Statement": [statement]}, iam.Source(where))
    _KNOWN[name] = _Known(name, document)
    return document


# ---- action sets --------------------------------------------------------------------------

# Actions that invoke a model. `bedrock:InvokeModel*` also authorizes Converse,
# ConverseStream, StartAsyncInvoke and bidirectional streaming.
MODEL_ACTIONS: tuple[str, ...] = (
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    "bedrock:InvokeAgent",
    "bedrock:InvokeInlineAgent",
    "bedrock:InvokeFlow",
    "bedrock-agentcore:InvokeAgentRuntime",
    "sagemaker:InvokeEndpoint",
    "sagemaker:InvokeEndpointAsync",
    "sagemaker:InvokeEndpointWithResponseStream",
)

# Actions that start compute that keeps costing after the call returns.
LAUNCH_ACTIONS: tuple[str, ...] = (
    "ec2:RunInstances",
    "ec2:CreateFleet",
    "ec2:RequestSpotFleet",
    "ec2:RequestSpotInstances",
    "ecs:RunTask",
    "ecs:StartTask",
    "ecs:CreateService",
    "ecs:UpdateService",
    "autoscaling:CreateAutoScalingGroup",
    "autoscaling:SetDesiredCapacity",
    "autoscaling:UpdateAutoScalingGroup",
    "autoscaling:ExecutePolicy",
    "eks:CreateNodegroup",
    "eks:UpdateNodegroupConfig",
    "batch:SubmitJob",
    "sagemaker:CreateEndpoint",
    "sagemaker:CreateTrainingJob",
)

# Writes that carry data, not capacity: a breaker that denies them mid-transaction can
# leave data half written (CB206).
DATA_PLANE_WRITES: tuple[str, ...] = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:TransactWriteItems",
    "rds-data:ExecuteStatement",
    "rds-data:BatchExecuteStatement",
    "rds-data:CommitTransaction",
    "s3:PutObject",
    "s3:DeleteObject",
    "sqs:SendMessage",
    "sqs:DeleteMessage",
    "kinesis:PutRecord",
    "kinesis:PutRecords",
    "firehose:PutRecord",
    "firehose:PutRecordBatch",
    "elasticfilesystem:ClientWrite",
    "timestream:WriteRecords",
)

# Attaching a policy: what a function must be allowed to do to trip a breaker.
ATTACH_ACTIONS = {
    "managed": ("iam:AttachRolePolicy", "iam:AttachUserPolicy", "iam:AttachGroupPolicy"),
    "scp": ("organizations:AttachPolicy",),
}

# Services whose roles run code (agents live there); roles only AWS control-plane
# services assume (scaling, events, CloudFormation, ...) are not workloads.
CODE_SERVICES = (
    "lambda",
    "edgelambda",
    "ecs-tasks",
    "ec2",
    "states",
    "bedrock",
    "bedrock-agentcore",
    "sagemaker",
    "codebuild",
    "batch",
    "glue",
    "pods.eks",
    "tasks.apprunner",
    "airflow",
    "airflow-env",
    "elasticmapreduce",
    "emr-serverless",
)


# ---- the analysis: facts followed through their references --------------------------------


@dataclass(frozen=True)
class Grant:
    """Why a principal may perform an action: the Allow statement and where it is."""

    action: str
    statement: iam.Statement
    source: str  # "policy AgentPolicy", "AWS managed policy AdministratorAccess", ...

    @property
    def explicit(self) -> bool:
        """Granted by an entry that names the action's service (`bedrock:Invoke*`), not by
        `*` or NotAction: evidence the principal is meant to do it, not just able to."""
        entry = self.statement.naming_entry(self.action)
        if entry is None or entry.text is None or ":" not in entry.text:
            return False
        service = entry.text.split(":", 1)[0]
        return "*" not in service and "?" not in service


@dataclass
class Workload:
    """A principal that runs code and may invoke models or launch compute."""

    fact: Resource  # a Role, or a SAM function whose role SAM creates
    label: str  # "role AgentRole", "function Agent (its SAM-generated role)"
    grants: dict[str, Grant]
    functions: list[LambdaFunction] = field(default_factory=list)

    def first_grant(self) -> Grant:
        return next(iter(self.grants.values()))


@dataclass
class Breaker:
    """A policy or SCP meant as a breaker, with what its Deny statements cover."""

    policy: Policy
    document: iam.Document
    named: dict[str, list[iam.Statement]]  # required entry → deny-ish statements naming it
    covered: dict[str, list[iam.Statement]]  # required entry → valid Deny statements
    missing: dict[str, list[str]]  # category → required entries not covered
    statements: list[iam.Statement]  # the deny-ish statements that name required actions

    @property
    def label(self) -> str:
        policy = self.policy
        if policy.policy_kind == "inline" and policy.owner:
            name = f" '{policy.name}'" if policy.name else ""
            return f"inline policy{name} of {policy.owner}"
        return f"{'SCP' if policy.policy_kind == 'scp' else 'policy'} {policy.address}"


BREAKER_WORDS = ("breaker", "kill", "circuit", "runaway", "emergency", "freeze", "quarantine")

# Condition keys that switch a breaker on for the right principals, or exempt a
# break-glass principal, rather than weaken it.
_TRIP_KEYS = ("aws:principaltag/", "aws:tokenissuetime")
_EXEMPT_KEYS = (
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principalorgid",
    "aws:userid",
    "aws:username",
    "aws:principaltype",
)
_NEGATED = ("stringnotequals", "stringnotlike", "arnnotequals", "arnnotlike")
_SERVICE_EXEMPTIONS = ("aws:viaawsservice", "aws:principalisawsservice")


@dataclass(frozen=True)
class Weakness:
    what: str
    location: Location


class GuardIndex:
    """The guard facts of one scan followed through their references, computed once.

    Rules ask it questions (which breakers a scope has, what a principal may do, whether
    a topic has a subscriber) instead of walking facts themselves.
    """

    def __init__(self, inventory: Inventory, required: dict[str, list[str]]) -> None:
        self.inventory = inventory
        self.required = required
        self.required_expanded = iam.expand_required(a for acts in required.values() for a in acts)
        model = list(MODEL_ACTIONS) + list(required.get("model-invocation", []))
        launch = list(LAUNCH_ACTIONS) + [
            a for cat, acts in required.items() if cat != "model-invocation" for a in acts
        ]
        self.model_actions = _unique(model)
        self.launch_actions = _unique(a for a in launch if a not in self.model_actions)
        self.risky = _unique([*self.model_actions, *self.launch_actions])
        self._grants: dict[tuple[str, str], dict[str, Grant]] = {}
        self._workloads: dict[str, list[Workload]] = {}
        self._breakers: dict[str, list[Breaker]] = {}
        self._by_scope: dict[str, dict[type, list[Resource]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self._policies: dict[tuple[str, str], list[Policy]] = defaultdict(list)
        for fact in inventory.facts:
            if isinstance(fact, _GUARD_KINDS):
                self._by_scope[fact.scope][type(fact)].append(fact)
            if isinstance(fact, Policy):
                self._policies[(fact.scope, fact.address)].append(fact)

    # -- lookups --

    def of(self, kind: type, scope: str) -> list[Any]:
        return self._by_scope.get(scope, {}).get(kind, [])

    def scopes(self) -> list[str]:
        return sorted(self._by_scope)

    def policies(self, scope: str, address: str) -> list[Policy]:
        return self._policies.get((scope, address), [])

    def document(self, policy: Policy) -> iam.Document | None:
        return self._resolved(policy.document, policy.scope, policy.document_ref)

    def trust(self, role: Role) -> iam.Document | None:
        return self._resolved(role.trust, role.scope, role.trust_ref)

    def _resolved(self, own: iam.Document | None, scope: str, ref: str) -> iam.Document | None:
        """A document written in place, or the first readable one its reference names
        (a Terraform `aws_iam_policy_document`) in the same scope."""
        if own is not None:
            return own
        if ref:
            for doc in self.policies(scope, ref):
                if doc.document is not None:
                    return doc.document
        return None

    # -- principals --

    def principal_documents(
        self, scope: str, principal: Resource
    ) -> list[tuple[str, iam.Document]]:
        """(label, document) of every identity policy of a role or SAM function in scope."""
        address = principal.address
        # A policy may name the role by its RoleName instead of referencing it.
        name = principal.role_name.text() if isinstance(principal, Role) else None
        names = {address, name} if name else {address}

        def is_principal(ref: Ref) -> bool:
            return ref.address == address or (not ref.address and ref.text in names)

        found: list[tuple[str, iam.Document]] = []
        seen: set[int] = set()

        def add(label: str, document: iam.Document | None) -> None:
            if document is not None and id(document) not in seen:
                seen.add(id(document))
                found.append((label, document))

        def add_ref(ref: Ref) -> None:
            if ref.address:
                for policy in self.policies(scope, ref.address):
                    if policy.policy_kind != "inline":
                        add(f"policy {policy.address}", self.document(policy))
            elif ref.text:
                name = aws_managed_name(ref.text)
                add(f"AWS managed policy {name}", known_document(name) if name else None)

        for policy in self.of(Policy, scope):
            if policy.policy_kind == "inline" and policy.owner in names:
                add(f"inline policy {policy.name or address}", self.document(policy))
            elif policy.policy_kind in ("managed", "inline") and any(
                is_principal(r) for r in policy.attached_to
            ):
                add(f"policy {policy.address}", self.document(policy))
        for attachment in self.of(PolicyAttachment, scope):
            if any(is_principal(r) for r in attachment.principals):
                add_ref(attachment.policy)
        managed: tuple[Ref, ...] = getattr(principal, "managed", ())
        for ref in managed:
            add_ref(ref)
        for name in getattr(principal, "sam_templates", ()):
            add(f"SAM policy template {name}", known_document(name))
        return found

    def boundary(self, role: Role) -> iam.Document | None:
        ref = role.boundary
        if ref is None:
            return None
        if ref.address:
            for policy in self.policies(role.scope, ref.address):
                return self.document(policy)
        name = aws_managed_name(ref.text) if ref.text else ""
        return known_document(name) if name else None

    def grants(self, principal: Resource, actions: Iterable[str] | None = None) -> dict[str, Grant]:
        """The risky actions (or `actions`) the principal may perform, with the Allow.

        An action is granted when an Allow names it, no unconditional Deny on every
        resource names it, and a permissions boundary, where one is set and readable,
        allows it too. Resource scopes and conditions of Allows are not narrowed: a
        function allowed to launch one instance type can still launch many of it."""
        key = (principal.scope, principal.address)
        if actions is None and key in self._grants:
            return self._grants[key]
        documents = self.principal_documents(principal.scope, principal)
        boundary = self.boundary(principal) if isinstance(principal, Role) else None
        result: dict[str, Grant] = {}
        for action in actions if actions is not None else self.risky:
            grant = None
            for label, document in documents:
                allow = next(iter(iam.allowing(document.statements, action)), None)
                if allow is not None and grant is None:
                    grant = Grant(action, allow, label)
                if any(iam.denies_outright(s, action) for s in document.statements):
                    grant = None
                    break
            if grant is None:
                continue
            if boundary is not None and not iam.allowing(boundary.statements, action):
                continue
            result[action] = grant
        if actions is None:
            self._grants[key] = result
        return result

    def runs_code(self, role: Role) -> bool | None:
        """Whether code (a function, task, instance, agent) assumes the role; None when
        the trust policy cannot be read."""
        trust = self.trust(role)
        if trust is None:
            return None
        unknown = False
        for statement in trust.statements:
            if not statement.is_allow:
                continue
            for kind, values in statement.principals.items():
                if kind == "Federated":
                    return True
                if kind in ("?",) or "?" in values:
                    unknown = True
                if kind == "Service":
                    for value in values:
                        service = value.lower().split(".amazonaws.com")[0]
                        if service in CODE_SERVICES:
                            return True
        return None if unknown else False

    def functions_of_role(self, scope: str, role_address: str) -> list[LambdaFunction]:
        return [
            f
            for f in self.of(LambdaFunction, scope)
            if f.role is not None and f.role.address == role_address
        ]

    def principal_of(self, function: LambdaFunction) -> Resource | None:
        """The role a function runs as (its own fact for a SAM-generated role)."""
        if function.role is None:
            return function
        if function.role.address:
            for role in self.of(Role, function.scope):
                if role.address == function.role.address:
                    return role
        return None

    def workloads(self, scope: str) -> list[Workload]:
        """Principals in scope that run code and may invoke models or launch compute."""
        if scope in self._workloads:
            return self._workloads[scope]
        found: list[Workload] = []
        for role in self.of(Role, scope):
            grants = self.grants(role)
            if grants and self.runs_code(role) is not False:
                functions = self.functions_of_role(scope, role.address)
                used = f" (used by {_names(f.address for f in functions)})" if functions else ""
                found.append(Workload(role, f"role {role.address}{used}", grants, functions))
        for function in self.of(LambdaFunction, scope):
            if function.role is None:
                grants = self.grants(function)
                if grants:
                    label = f"function {function.address} (its SAM-generated role)"
                    found.append(Workload(function, label, grants, [function]))
        found.sort(key=lambda w: (w.fact.location.line, w.fact.address))
        self._workloads[scope] = found
        return found

    # -- breakers --

    def breakers(self, scope: str) -> list[Breaker]:
        """Policies and SCPs in scope whose Deny statements are meant to stop a runaway:
        they name required actions of at least two categories (two actions when the
        configuration has one list), or one when the policy is named as a breaker."""
        if scope in self._breakers:
            return self._breakers[scope]
        found = []
        for policy in self.of(Policy, scope):
            if policy.policy_kind == "document":
                continue
            document = self.document(policy)
            if document is None:
                continue
            breaker = self._breaker(policy, document)
            if breaker is not None:
                found.append(breaker)
        self._breakers[scope] = found
        return found

    def _breaker(self, policy: Policy, document: iam.Document) -> Breaker | None:
        denyish = [s for s in document.statements if s.intends_deny]
        if not denyish:
            return None
        named: dict[str, list[iam.Statement]] = {}
        covered: dict[str, list[iam.Statement]] = {}
        for entry, concrete in self.required_expanded.items():
            naming = [s for s in denyish if any(s.names(a) for a in concrete)]
            if naming:
                named[entry] = naming
            valid = [s for s in denyish if s.is_deny]
            if all(any(s.names(a) for s in valid) for a in concrete):
                covered[entry] = [s for s in valid if any(s.names(a) for a in concrete)]
        if not named:
            return None
        categories = {cat for cat, acts in self.required.items() for a in acts if a in named}
        labelled = " ".join(
            [policy.name, policy.address, policy.description] + [s.sid for s in document.statements]
        ).lower()
        enough = len(categories) >= 2 if len(self.required) > 1 else len(named) >= 2
        if not enough and not any(word in labelled for word in BREAKER_WORDS):
            return None
        missing = {
            cat: [a for a in acts if a not in covered]
            for cat, acts in self.required.items()
            if any(a not in covered for a in acts)
        }
        statements = [s for s in denyish if any(s in v for v in named.values())]
        return Breaker(policy, document, named, covered, missing, statements)

    def weaknesses(self, breaker: Breaker) -> list[Weakness]:
        """Conditions and resource scopes that keep a breaker's Deny from applying."""
        found: list[Weakness] = []
        for statement in breaker.statements:
            for condition in statement.conditions:
                problem = _condition_weakness(condition)
                if problem:
                    found.append(Weakness(problem, condition.location))
            resource_problem = _resource_weakness(statement)
            if resource_problem:
                found.append(Weakness(resource_problem, statement.resource_location))
        return found

    def in_force(self, policy: Policy) -> str:
        """How a policy is attached permanently ('' when it is not)."""
        scope = policy.scope
        if policy.policy_kind == "inline" and policy.owner:
            return f"it is an inline policy of {policy.owner}"
        targets = [r.describe() for r in policy.attached_to if r.known]
        for attachment in self.of(PolicyAttachment, scope):
            if attachment.policy.address == policy.address:
                targets.extend(r.describe() for r in attachment.principals if r.known)
        for kind in (Role, LambdaFunction):
            for principal in self.of(kind, scope):
                if any(r.address == policy.address for r in getattr(principal, "managed", ())):
                    targets.append(principal.address)
                boundary = getattr(principal, "boundary", None)
                if boundary is not None and boundary.address == policy.address:
                    targets.append(f"{principal.address} (as its permissions boundary)")
        if targets:
            return f"it is attached to {_names(targets)}"
        return ""

    def wiring(self, policy: Policy) -> tuple[str, list[str]]:
        """How the breaker gets attached on a trip ('' when nothing can), and notes on
        near misses (a function that could attach it but that nothing invokes)."""
        scope = policy.scope
        for action in self.of(BudgetAction, scope):
            if action.policy is not None and action.policy.address == policy.address:
                return f"budget action {action.address} applies it", []
        notes: list[str] = []
        attach = ATTACH_ACTIONS["scp" if policy.policy_kind == "scp" else "managed"]
        for function in self.of(LambdaFunction, scope):
            principal = self.principal_of(function)
            refers = policy.address in function.references
            can_attach = principal is not None and bool(self.grants(principal, attach))
            if not (refers or can_attach):
                continue
            triggers = self.triggers(function)
            if triggers:
                return f"function {function.address} attaches it, {triggers[0]}", []
            notes.append(f"function {function.address} could attach it, but nothing invokes it")
        return "", notes

    def triggers(self, function: LambdaFunction) -> list[str]:
        """What invokes a function: a topic subscription, an alarm action, an event rule."""
        scope, address = function.scope, function.address
        found = []
        for subscription in self.of(Subscription, scope):
            if subscription.endpoint.target.address == address:
                found.append(f"invoked through topic {subscription.topic.describe()}")
        for topic in self.of(Topic, scope):
            if any(e.target.address == address for e in topic.subscriptions):
                found.append(f"invoked through topic {topic.address}")
        for alarm in self.of(Alarm, scope):
            if any(r.address == address for r in alarm.actions):
                found.append(f"invoked by alarm {alarm.address}")
        for rule in self.rules_targeting(scope, address):
            found.append(f"invoked by event rule {rule.address}")
        return found

    def rules_targeting(self, scope: str, address: str) -> list[EventRule]:
        rules = []
        by_address = {r.address: r for r in self.of(EventRule, scope)}
        for rule in by_address.values():
            if any(t.address == address for t in rule.targets):
                rules.append(rule)
        for target in self.of(EventTarget, scope):
            rule = by_address.get(target.rule.address)
            if rule is not None and target.target.address == address and rule not in rules:
                rules.append(rule)
        return rules

    # -- detection and billing --

    def detectors(self, scope: str) -> list[EventRule]:
        """Enabled event rules on agent or model-call events that target a function."""
        functions = {f.address for f in self.of(LambdaFunction, scope)}
        found = []
        for rule in self.of(EventRule, scope):
            if not rule.enabled or not _is_model_event_pattern(rule.pattern):
                continue
            targets = list(rule.targets) + [
                t.target for t in self.of(EventTarget, scope) if t.rule.address == rule.address
            ]
            if any(t.address in functions or _is_function_arn(t.text) for t in targets):
                found.append(rule)
        return found

    def billing_alarms(self, scope: str) -> list[Alarm]:
        return [a for a in self.of(Alarm, scope) if is_billing_alarm(a)]

    def topic_has_subscriber(self, scope: str, ref: Ref) -> bool | None:
        """Whether a topic has a subscription in scope; None when it is not in scope."""
        topics = [t for t in self.of(Topic, scope) if t.address == ref.address]
        if not ref.address or not topics:
            return None
        if any(t.subscriptions for t in topics):
            return True
        return any(s.topic.address == ref.address for s in self.of(Subscription, scope))

    def budget_actions(self, budget: Budget) -> list[BudgetAction]:
        return [
            a for a in self.of(BudgetAction, budget.scope) if a.budget.address == budget.address
        ]

    def monitor_subscriptions(self, monitor: AnomalyMonitor) -> list[AnomalySubscription]:
        return [
            s
            for s in self.of(AnomalySubscription, monitor.scope)
            if any(r.address == monitor.address for r in s.monitors)
        ]


_GUARD_KINDS = (
    Policy,
    Role,
    PolicyAttachment,
    LambdaFunction,
    Alarm,
    Topic,
    Subscription,
    Budget,
    BudgetAction,
    AnomalyMonitor,
    AnomalySubscription,
    EventRule,
    EventTarget,
)


def guard_index(inventory: Inventory, required: dict[str, list[str]]) -> GuardIndex:
    """The GuardIndex of this inventory and action set, built on first use."""
    cache: dict[str, GuardIndex] = inventory.__dict__.setdefault("_guard_index", {})
    key = repr(sorted((k, tuple(v)) for k, v in required.items()))
    if key not in cache:
        cache[key] = GuardIndex(inventory, required)
    return cache[key]


def is_billing_alarm(alarm: Alarm) -> bool:
    for metric in alarm.metrics:
        if metric.namespace.text() == "AWS/Billing" or metric.metric.text() == "EstimatedCharges":
            return True
    return False


_MODEL_EVENT_WORDS = (
    "costbreaker",
    "agent",
    "model",
    "llm",
    "bedrock",
    "sagemaker",
    "inference",
    "token",
    "genai",
    "prompt",
)


def _is_model_event_pattern(pattern: Any) -> bool:
    """An event pattern on agent or model-call events (custom agent events, Bedrock or
    SageMaker events, CloudTrail Invoke* calls) — not a schedule or an unrelated source."""
    if not isinstance(pattern, dict):
        return False
    texts: list[str] = []
    for key in ("source", "detail-type"):
        texts.extend(_strings(pattern.get(key)))
    detail = pattern.get("detail")
    if isinstance(detail, dict):
        texts.extend(_strings(detail.get("eventName")))
        texts.extend(_strings(detail.get("eventSource")))
    lowered = [t.lower() for t in texts]
    if any(word in t for t in lowered for word in _MODEL_EVENT_WORDS):
        return True
    return any(t.startswith(("invokemodel", "converse", "invokeendpoint")) for t in lowered)


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    if isinstance(node, dict):
        return [s for item in node.values() for s in _strings(item)]
    return []


def _is_function_arn(text: str) -> bool:
    return ":lambda:" in text and ":function:" in text


def _condition_weakness(condition: iam.Condition) -> str:
    key = condition.key.lower()
    operator = condition.operator.lower()
    values = ", ".join(condition.values)
    if key == "aws:requestedregion":
        if "not" in operator:
            return (
                f"its Deny is limited by {condition.operator} aws:RequestedRegion: requests "
                f"for {values} are not denied"
            )
        return (
            f"its Deny applies only to requests for {values} ({condition.operator} "
            "aws:RequestedRegion): a runaway in any other region is not stopped"
        )
    if key.startswith(_TRIP_KEYS):
        return ""
    if key.startswith(_EXEMPT_KEYS) and operator.removesuffix("ifexists").startswith(_NEGATED):
        return ""
    if key in _SERVICE_EXEMPTIONS and condition.values == ("false",):
        return ""
    return (
        f"its Deny applies only when {condition.describe()}: requests that do not match "
        "are not stopped"
    )


def _resource_weakness(statement: iam.Statement) -> str:
    if statement.all_resources:
        return ""
    if statement.not_resource:
        shown = _names(e.text or "?" for e in statement.resources)
        return f"its Deny uses NotResource, so {shown} stay allowed"
    texts = [e.text for e in statement.resources]
    if not texts:
        return ""
    if any(t is None for t in texts):
        return ""  # not static: CB204 reports only what it can show
    narrow = [t for t in texts if t is not None and not _whole_type(t)]
    if not narrow:
        return ""
    return (
        f"its Deny covers only the resources {_names(narrow)}, so the workload's other "
        "resources stay allowed"
    )


def _whole_type(arn: str) -> bool:
    """An ARN that covers every resource of a type in every region and account."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return False
    if parts[3] not in ("*", "") or parts[4] not in ("*", ""):
        return False
    tail = parts[5]
    return tail == "*" or (tail.endswith("/*") and "*" not in tail[:-2] and "/" not in tail[:-2])


def _unique(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    result = []
    for item in items:
        if item.lower() not in seen:
            seen.add(item.lower())
            result.append(item)
    return result


def _names(items: Iterable[str], limit: int = 6) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
