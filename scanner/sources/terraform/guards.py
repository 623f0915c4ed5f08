"""Terraform adapters for the breaker and billing families (and CB105's functions).

Policies come in three shapes and all are read: `jsonencode({...})` (the structure with
its unknown parts), heredoc or string JSON, and `data "aws_iam_policy_document"` blocks,
whose statement blocks keep their own lines. In HCL, action lines inside `jsonencode` and
heredocs are found by walking the string tokens of the expression in order. References
(`aws_iam_policy.breaker.arn`) become in-scope addresses, from HCL traversals or from the
plan's configuration section, so the rules can follow them. A `provider` block's region
tells where a billing alarm is deployed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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
    EventTarget,
    LambdaFunction,
    MetricRef,
    Policy,
    PolicyAttachment,
    Ref,
    Role,
    Subscription,
    Topic,
)
from costbreaker.inventory import Location, Resource, Value
from costbreaker.sources.terraform.hcl import Encoded, Unknown, _is_noise
from costbreaker.sources.terraform.model import HclNode, PlanNode, TfResource
from costbreaker.sources.terraform.registry import adapter


# ---- references --------------------------------------------------------------------------
def _address(reference: str) -> str:
    """`aws_iam_policy.b` from `aws_iam_policy.b.arn`, `data.x.y` from `data.x.y.json`."""
    parts = reference.split(".")
    if parts[0] == "data" and len(parts) >= 3:
        return ".".join(parts[:3])
    if parts[0] in ("var", "local", "each", "count", "path", "self", "module", "terraform"):
        return ""
    return ".".join(parts[:2]) if len(parts) >= 2 else ""


def _refs_in(value: Any, where: Location) -> list[Ref]:
    if isinstance(value, Unknown):
        return [Ref(value.ref, "", where)] if value.ref else [Ref("", "", where)]
    if isinstance(value, str):
        return [Ref("", value, where)]
    if isinstance(value, list):
        return [r for item in value for r in _refs_in(item, where)]
    if isinstance(value, dict):
        return [r for item in value.values() for r in _refs_in(item, where)]
    return []


def refs(node: HclNode | PlanNode, name: str) -> tuple[Ref, ...]:
    """Where an attribute points: in-scope addresses, or literal texts."""
    where = node.where(name)
    if isinstance(node, PlanNode):
        addresses = []
        for reference in node.references.get(name, []):
            address = _address(reference)
            if address and address not in addresses:
                addresses.append(address)
        if addresses:
            return tuple(Ref(a, "", where) for a in addresses)
        raw = node.raw(name)
        return tuple(r for r in _refs_in(raw, where) if r.text) if raw is not None else ()
    raw = node.raw(name)
    if raw is None:
        return ()
    return tuple(_refs_in(raw, where))


def ref(node: HclNode | PlanNode, name: str) -> Ref:
    found = refs(node, name)
    return found[0] if found else Ref("", "", node.where(name))


def _text(node: HclNode | PlanNode, name: str) -> str:
    return node.value(name).text() or ""


def _block(node: HclNode | PlanNode, *names: str) -> HclNode | PlanNode | None:
    current: HclNode | PlanNode | None = node
    for name in names:
        if current is None:
            return None
        blocks = current.blocks(name)
        current = blocks[0] if blocks else None
    return current


# ---- policy documents --------------------------------------------------------------------
def hcl_tokens(expr: Any) -> list[tuple[str, int]]:
    """Object keys and string literals of an HCL expression with their lines, in order."""
    tokens: list[tuple[str, int]] = []

    def walk(node: Any, under_key: bool) -> None:
        data = getattr(node, "data", None)
        if data is None:
            return
        line = node.meta.line if not node.meta.empty else 0
        if data == "string":
            parts = []
            for part in node.children:
                if getattr(part, "data", None) != "string_part":
                    continue
                for piece in part.children:
                    parts.append("\x00" if hasattr(piece, "data") else str(piece))
            tokens.append(("".join(parts), line))
            return
        if data == "identifier" and under_key:
            tokens.append((str(node.children[0]), line))
            return
        if data in ("heredoc_template", "heredoc_template_trim"):
            return
        for child in node.children:
            if not _is_noise(child):
                walk(child, under_key or data == "object_elem_key")

    walk(expr, False)
    return tokens


def document(
    res: TfResource, name: str, node: HclNode | PlanNode | None = None
) -> tuple[iam.Document | None, str, str]:
    """(document, reference to a policy-document data source, why unreadable)."""
    node = node or res.node
    where = node.where(name)
    raw = node.raw(name)
    if raw is None:
        return None, "", ""
    if isinstance(raw, Unknown):
        address = raw.ref or (refs(node, name)[0].address if refs(node, name) else "")
        if address.startswith("data.aws_iam_policy_document."):
            return None, address, ""
        return None, "", raw.why
    if isinstance(node, PlanNode):
        address = ref(node, name).address
        if address.startswith("data.aws_iam_policy_document.") and not isinstance(raw, str):
            return None, address, ""
    attr = node.block.attrs.get(name) if isinstance(node, HclNode) else None
    if isinstance(raw, Encoded):
        data = raw.data
        tokens = hcl_tokens(attr.expr) if attr is not None else []
        source: iam.Source = iam.TokenSource(where, data, tokens) if tokens else iam.Source(where)
        return iam.parse_document(data, source), "", ""
    if isinstance(raw, str):
        if isinstance(node, HclNode) and attr is not None:
            text_line = attr.line + 1 if raw.count("\n") > 1 else attr.line
            return _text_document(raw, where, text_line), "", ""
        return _text_document(raw, where, 0), "", ""
    if isinstance(raw, dict):
        return iam.parse_document(raw, iam.Source(where)), "", ""
    return None, "", f"a {type(raw).__name__} where a policy document belongs"


def _text_document(text: str, where: Location, first_line: int) -> iam.Document | None:
    try:
        json.loads(text)
    except ValueError:
        return None  # a template with directives, or a file() we cannot read
    return iam.parse_text(text, where, first_line)


class _MapSource(iam.Source):
    """Locations recorded while turning policy-document blocks into IAM JSON."""

    def __init__(self, fallback: Location, lines: dict[tuple, Location]) -> None:
        super().__init__(fallback)
        self.lines = lines

    def at(self, node: Any, path: tuple) -> Location | None:
        return self.lines.get(path)

    def key_at(self, mapping: Any, key: str, path: tuple) -> Location | None:
        return self.lines.get(path)


_BLOCK_KEYS = {
    "actions": "Action",
    "not_actions": "NotAction",
    "resources": "Resource",
    "not_resources": "NotResource",
}


def _policy_document_blocks(res: TfResource) -> iam.Document:
    """An aws_iam_policy_document's statement blocks, as IAM JSON with block lines."""
    statements = []
    lines: dict[tuple, Location] = {}
    for index, block in enumerate(res.blocks("statement")):
        path = ("Statement", index)
        here = (
            res.location.at(block.block.line, block.block.column)
            if isinstance(block, HclNode)
            else res.location
        )
        lines[path] = here
        statement: dict[str, Any] = {}
        sid = block.raw("sid")
        if sid is not None:
            statement["Sid"] = sid
        effect = block.raw("effect")
        statement["Effect"] = "Allow" if effect is None else effect
        lines[(*path, "Effect")] = block.where("effect") if effect is not None else here
        for attr, key in _BLOCK_KEYS.items():
            raw = block.raw(attr)
            if raw is None:
                continue
            statement[key] = raw
            attr_where = block.where(attr)
            lines[(*path, key)] = attr_where
            if isinstance(block, HclNode) and isinstance(raw, list):
                tokens = hcl_tokens(block.block.attrs[attr].expr)
                strings = list(tokens)
                for i, item in enumerate(raw):
                    hit = next((t for t in strings if t[0] == item), None)
                    if hit is not None:
                        strings.remove(hit)
                        lines[(*path, key, i)] = attr_where.at(hit[1])
        conditions: dict[str, dict[str, Any]] = {}
        for condition in block.blocks("condition"):
            test, variable = condition.raw("test"), condition.raw("variable")
            if not isinstance(test, str) or not isinstance(variable, str):
                continue
            conditions.setdefault(test, {})[variable] = condition.raw("values")
            where = (
                res.location.at(condition.block.line, condition.block.column)
                if isinstance(condition, HclNode)
                else res.location
            )
            lines.setdefault((*path, "Condition"), where)
            lines.setdefault((*path, "Condition", test), where)
            lines[(*path, "Condition", test, variable)] = condition.where("variable")
        if conditions:
            statement["Condition"] = conditions
        principals: dict[str, list] = {}
        for principal in block.blocks("principals"):
            kind, identifiers = principal.raw("type"), principal.raw("identifiers")
            if isinstance(kind, str):
                items = identifiers if isinstance(identifiers, list) else [identifiers]
                principals.setdefault(kind, []).extend(items)
        if principals:
            statement["Principal"] = principals
        statements.append(statement)
    return iam.parse_document({"Statement": statements}, _MapSource(res.location, lines))


# ---- merged policy documents -------------------------------------------------------------
_SOURCES = "source_policy_documents"
_OVERRIDES = "override_policy_documents"
_MAX_MERGE_DEPTH = 16


@dataclass(frozen=True)
class _Merged:
    """A document with its source and override documents folded in, as Terraform builds
    its `json`: `why` is set when a part cannot be read (the statements are then only
    what could be read); `borrowed` are positions of statements from other in-scope
    documents."""

    document: iam.Document
    why: str = ""
    borrowed: frozenset[int] = frozenset()


def _merge_into(
    merged: list[tuple[iam.Statement, bool]], statements: Iterable[iam.Statement], borrowed: bool
) -> None:
    """Terraform's merge step: a statement with the Sid of one already there replaces it
    in place; any other statement is appended."""
    for statement in statements:
        if statement.sid:
            for i, (old, _) in enumerate(merged):
                if old.sid == statement.sid:
                    merged[i] = (statement, borrowed)
                    break
            else:
                merged.append((statement, borrowed))
        else:
            merged.append((statement, borrowed))


def _tuple_items(expr: Any) -> list[Any]:
    """The element expressions of an HCL tuple literal (`[a, b]`), aligned with what the
    evaluator returns for it; [] for any other expression."""
    node = expr
    while getattr(node, "data", None) == "expr_term":
        inner = [k for k in node.children if not _is_noise(k) and hasattr(k, "data")]
        if len(inner) != 1:
            return []
        node = inner[0]
    if getattr(node, "data", None) != "tuple":
        return []
    return [k for k in node.children if not _is_noise(k) and hasattr(k, "data")]


def _part_documents(
    res: TfResource, name: str, stack: tuple[str, ...], missing: list[str]
) -> list[tuple[tuple[iam.Statement, ...], bool]]:
    """(statements, borrowed) of each document listed in `source_policy_documents` or
    `override_policy_documents`, in order; what cannot be read is added to `missing`."""
    node = res.node
    raw = node.raw(name)
    if raw is None:
        return []
    where = node.where(name)
    if not isinstance(raw, list):
        missing.append(f"{name}: {getattr(raw, 'why', 'not a static list')}")
        return []
    attr = node.block.attrs.get(name) if isinstance(node, HclNode) else None
    exprs = _tuple_items(attr.expr) if attr is not None else []
    parts: list[tuple[tuple[iam.Statement, ...], bool]] = []
    for i, item in enumerate(raw):
        expr = exprs[i] if i < len(exprs) and len(exprs) == len(raw) else None
        line = expr.meta.line if expr is not None and not expr.meta.empty else 0
        here = where.at(line, 0) if line else where
        if isinstance(item, Unknown):
            address = item.ref if isinstance(node, HclNode) else ""
            if address.startswith("data.aws_iam_policy_document."):
                sub = _referenced(res, address, stack)
                if sub.why:
                    missing.append(f"{address}: {sub.why}")
                parts.append((sub.document.statements, True))
            else:
                missing.append(f"{name}[{i}]: {item.why}")
        elif isinstance(item, Encoded):
            tokens = hcl_tokens(expr) if expr is not None else []
            source = iam.TokenSource(here, item.data, tokens) if tokens else iam.Source(here)
            parts.append((iam.parse_document(item.data, source).statements, False))
        elif isinstance(item, str):
            first = line + 1 if line and item.count("\n") > 1 else line
            doc = _text_document(item, here, first)
            if doc is None:
                missing.append(f"{name}[{i}]: not JSON that can be read statically")
            else:
                parts.append((doc.statements, False))
        elif isinstance(item, dict):
            parts.append((iam.parse_document(item, iam.Source(here)).statements, False))
        else:
            missing.append(f"{name}[{i}]: known only after apply")
    return parts


def _referenced(res: TfResource, address: str, stack: tuple[str, ...]) -> _Merged:
    """Another policy document of the same module, merged in turn."""
    empty = iam.Document((), res.location)
    if not isinstance(res.node, HclNode):
        return _Merged(empty, "not readable from a plan")
    if address in stack or len(stack) > _MAX_MERGE_DEPTH:
        return _Merged(empty, "it refers back to itself")
    block = res.node.evaluator.scope.documents.get(address)
    if block is None:
        return _Merged(empty, "it is not declared in this module")
    other = TfResource(
        address=address,
        type="aws_iam_policy_document",
        mode="data",
        location=Location(block.file, block.line, block.column, address),
        scope=res.scope,
        source=res.source,
        node=HclNode(block, res.node.evaluator, address),
    )
    return _merged_document(other, (*stack, address))


def _merged_document(res: TfResource, stack: tuple[str, ...]) -> _Merged:
    """Terraform's semantics: source documents' statements first (in order), then the
    document's own statements, then each override document in order; at each step a
    statement with the Sid of an earlier one replaces it. Only done when a document lists
    source or override documents, so a plain document costs nothing more."""
    own = _policy_document_blocks(res)
    node = res.node
    if not (node.has(_SOURCES) or node.has(_OVERRIDES)):
        return _Merged(own)
    missing: list[str] = []
    merged: list[tuple[iam.Statement, bool]] = []
    for statements, borrowed in _part_documents(res, _SOURCES, stack, missing):
        _merge_into(merged, statements, borrowed)
    _merge_into(merged, own.statements, False)
    for statements, borrowed in _part_documents(res, _OVERRIDES, stack, missing):
        _merge_into(merged, statements, borrowed)
    document = iam.Document(tuple(s for s, _ in merged), own.location, own.problems)
    return _Merged(
        document,
        "; ".join(missing),
        frozenset(i for i, (_, borrowed) in enumerate(merged) if borrowed),
    )


@adapter("data.aws_iam_policy_document")
def policy_document(res: TfResource) -> Iterator[Resource]:
    if isinstance(res.node, PlanNode):
        text = res.node.raw("json")
        if isinstance(text, str):
            # Terraform has merged source and override documents into `json` already.
            doc = _text_document(text, res.location, 0)
            if doc is not None:
                yield Policy(**res.common(), policy_kind="document", document=doc)
                return
    merged = _merged_document(res, (res.address,))
    if merged.why:
        yield Policy(
            **res.common(),
            policy_kind="document",
            unresolved=f"a merged document cannot be read: {merged.why}",
            partial=merged.document,
            borrowed=merged.borrowed,
        )
        return
    yield Policy(
        **res.common(),
        policy_kind="document",
        document=merged.document,
        borrowed=merged.borrowed,
    )


# ---- IAM resources -----------------------------------------------------------------------
@adapter("aws_iam_policy")
def iam_policy(res: TfResource) -> Iterator[Resource]:
    doc, document_ref, why = document(res, "policy")
    yield Policy(
        **res.common(),
        policy_kind="managed",
        name=_text(res.node, "name"),
        document=doc,
        document_ref=document_ref,
        unresolved=why,
        description=_text(res.node, "description"),
    )


@adapter("aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy")
def principal_policy(res: TfResource) -> Iterator[Resource]:
    owner_key = {"aws_iam_role_policy": "role", "aws_iam_user_policy": "user"}.get(
        res.type, "group"
    )
    doc, document_ref, why = document(res, "policy")
    owner = ref(res.node, owner_key)
    yield Policy(
        **res.common(),
        policy_kind="inline",
        name=_text(res.node, "name"),
        document=doc,
        document_ref=document_ref,
        unresolved=why,
        owner=owner.address or owner.text,
    )


@adapter("aws_iam_role")
def iam_role(res: TfResource) -> Iterator[Resource]:
    trust, trust_ref, _ = document(res, "assume_role_policy")
    boundary = refs(res.node, "permissions_boundary")
    yield Role(
        **res.common(),
        role_name=res.value("name"),
        trust=trust,
        trust_ref=trust_ref,
        managed=refs(res.node, "managed_policy_arns"),
        boundary=boundary[0] if boundary else None,
    )
    for block in res.blocks("inline_policy"):
        doc, document_ref, why = document(res, "policy", block)
        if doc is None and not document_ref:
            continue
        where = block.where("policy")
        yield Policy(
            **{**res.common(), "location": where},
            policy_kind="inline",
            name=_text(block, "name"),
            document=doc,
            document_ref=document_ref,
            unresolved=why,
            owner=res.address,
        )


@adapter(
    "aws_iam_role_policy_attachment",
    "aws_iam_user_policy_attachment",
    "aws_iam_group_policy_attachment",
    "aws_iam_policy_attachment",
)
def policy_attachment(res: TfResource) -> Iterator[Resource]:
    principals: list[Ref] = []
    for name in ("role", "user", "group", "roles", "users", "groups"):
        principals.extend(refs(res.node, name))
    yield PolicyAttachment(
        **res.common(), policy=ref(res.node, "policy_arn"), principals=tuple(principals)
    )


@adapter("aws_organizations_policy")
def organizations_policy(res: TfResource) -> Iterator[Resource]:
    kind = res.value("type")
    if kind.kind == "literal" and kind.value != "SERVICE_CONTROL_POLICY":
        return
    doc, document_ref, why = document(res, "content")
    yield Policy(
        **res.common(),
        policy_kind="scp",
        name=_text(res.node, "name"),
        document=doc,
        document_ref=document_ref,
        unresolved=why,
        description=_text(res.node, "description"),
    )


@adapter("aws_organizations_policy_attachment")
def organizations_attachment(res: TfResource) -> Iterator[Resource]:
    yield PolicyAttachment(
        **res.common(),
        policy=ref(res.node, "policy_id"),
        principals=refs(res.node, "target_id"),
    )


# ---- Lambda ------------------------------------------------------------------------------
@adapter("aws_lambda_function")
def lambda_function(res: TfResource) -> Iterator[Resource]:
    environment = _block(res.node, "environment")
    references: list[str] = []
    if isinstance(res.node, PlanNode):
        references = [
            _address(r) for r in res.node.references.get("environment", []) if _address(r)
        ]
    elif environment is not None:
        references = [r.address for r in refs(environment, "variables") if r.address]
    yield LambdaFunction(
        **res.common(),
        role=ref(res.node, "role"),
        reserved_concurrency=res.value("reserved_concurrent_executions"),
        references=tuple(dict.fromkeys(references)),
    )


# ---- alarms, topics, subscriptions ---------------------------------------------------------------


def _dimensions(node: HclNode | PlanNode) -> dict[str, Value] | None:
    raw = node.raw("dimensions")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        return None
    where = node.where("dimensions")
    return {
        str(k): (
            Value.literal(v, where)
            if not isinstance(v, Unknown)
            else Value.unresolved(v.why, where)
        )
        for k, v in raw.items()
    }


def _region(res: TfResource) -> Value:
    """The region of the provider configuration the resource uses, where HCL or the
    plan's configuration section tells it."""
    node = res.node
    if isinstance(node, PlanNode):
        if node.region is None:
            return Value.absent()
        found = node.region.location
        where = (
            Location(found.file, found.line, 0, res.address)
            if found is not None and found.line
            else res.location
        )
        return node.region.at(where)
    wanted = node.reference("provider") if "provider" in node.block.attrs else ""
    if not wanted and "provider" in node.block.attrs:
        return Value.absent()
    wanted = wanted or "aws"
    for block in node.evaluator.scope.providers:
        if not block.labels or block.labels[0] != "aws":
            continue
        alias = block.attrs.get("alias")
        name = "aws"
        if alias is not None:
            value = node.evaluator.evaluate(alias.expr)
            if not isinstance(value, str):
                continue
            name = f"aws.{value}"
        if name != wanted:
            continue
        region = block.attrs.get("region")
        if region is None:
            return Value.absent()
        where = Location(block.file, region.line, region.column, res.address)
        value = node.evaluator.evaluate(region.expr)
        if isinstance(value, str):
            return Value.literal(value, where)
        return Value.unresolved(getattr(value, "why", "not static"), where)
    return Value.absent()


@adapter("aws_cloudwatch_metric_alarm")
def metric_alarm(res: TfResource) -> Iterator[Resource]:
    metrics: list[MetricRef] = []
    queries = res.blocks("metric_query")
    for query in queries:
        metric = _block(query, "metric")
        if metric is None:
            continue
        metrics.append(
            MetricRef(
                namespace=metric.value("namespace"),
                metric=metric.value("metric_name"),
                dimensions=_dimensions(metric),
                period=metric.value("period"),
                location=metric.where("metric_name"),
            )
        )
    if not queries:
        metrics.append(
            MetricRef(
                namespace=res.value("namespace"),
                metric=res.value("metric_name"),
                dimensions=_dimensions(res.node),
                period=res.value("period"),
                location=res.where("metric_name"),
            )
        )
    present = res.node.has("alarm_actions")
    yield Alarm(
        **res.common(),
        metrics=tuple(metrics),
        treat_missing_data=res.value("treat_missing_data"),
        description=res.value("alarm_description"),
        actions=refs(res.node, "alarm_actions"),
        actions_location=res.where("alarm_actions") if present else None,
        actions_enabled=res.value("actions_enabled"),
        region=_region(res),
        math=bool(queries),
    )


@adapter("aws_sns_topic")
def sns_topic(res: TfResource) -> Iterator[Resource]:
    yield Topic(**res.common())


@adapter("aws_sns_topic_subscription")
def sns_subscription(res: TfResource) -> Iterator[Resource]:
    protocol = (_text(res.node, "protocol")).lower()
    yield Subscription(
        **res.common(),
        topic=ref(res.node, "topic_arn"),
        endpoint=Endpoint(protocol, ref(res.node, "endpoint"), res.where("endpoint")),
    )


# ---- budgets and anomaly detection -------------------------------------------------------
@adapter("aws_budgets_budget")
def budget(res: TfResource) -> Iterator[Resource]:
    notifications = []
    for block in res.blocks("notification"):
        where = (
            res.location.at(block.block.line, block.block.column)
            if isinstance(block, HclNode)
            else res.location
        )
        subscribers = [
            Endpoint("email", r, where) for r in refs(block, "subscriber_email_addresses")
        ] + [Endpoint("sns", r, where) for r in refs(block, "subscriber_sns_topic_arns")]
        notifications.append(BudgetNotification(where, tuple(subscribers)))
    yield Budget(
        **res.common(),
        budget_name=res.value("name"),
        notifications=tuple(notifications),
        notifications_location=notifications[0].location if notifications else None,
    )


def _subscribers(res: TfResource, block_name: str, type_key: str) -> tuple[Endpoint, ...]:
    found = []
    for block in res.blocks(block_name):
        kind = (_text(block, type_key)).lower()
        found.append(Endpoint(kind, ref(block, "address"), block.where("address")))
    return tuple(found)


@adapter("aws_budgets_budget_action")
def budget_action(res: TfResource) -> Iterator[Resource]:
    policy: Ref | None = None
    targets: tuple[Ref, ...] = ()
    iam_def = _block(res.node, "definition", "iam_action_definition")
    scp_def = _block(res.node, "definition", "scp_action_definition")
    if isinstance(res.node, PlanNode):
        # Nested references come flattened from the plan's configuration section.
        found = [_address(r) for r in res.node.references.get("definition", []) if _address(r)]
        policies = [a for a in found if a.startswith(("aws_iam_policy.", "aws_organizations_"))]
        policy = Ref(policies[0], "", res.location) if policies else None
        targets = tuple(Ref(a, "", res.location) for a in found if a not in policies)
        if policy is None and iam_def is not None:
            policy = ref(iam_def, "policy_arn")
    elif iam_def is not None:
        policy = ref(iam_def, "policy_arn")
        targets = (*refs(iam_def, "roles"), *refs(iam_def, "users"), *refs(iam_def, "groups"))
    elif scp_def is not None:
        policy = ref(scp_def, "policy_id")
        targets = refs(scp_def, "target_ids")
    yield BudgetAction(
        **res.common(),
        budget=ref(res.node, "budget_name"),
        action_type=res.value("action_type"),
        policy=policy,
        targets=targets,
        subscribers=_subscribers(res, "subscriber", "subscription_type"),
    )


@adapter("aws_ce_anomaly_monitor")
def anomaly_monitor(res: TfResource) -> Iterator[Resource]:
    yield AnomalyMonitor(**res.common())


@adapter("aws_ce_anomaly_subscription")
def anomaly_subscription(res: TfResource) -> Iterator[Resource]:
    yield AnomalySubscription(
        **res.common(),
        monitors=refs(res.node, "monitor_arn_list"),
        subscribers=_subscribers(res, "subscriber", "type"),
    )


# ---- EventBridge -------------------------------------------------------------------------
def _pattern(raw: Any) -> Any:
    if isinstance(raw, Encoded):
        return raw.data
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return None
    return None


@adapter("aws_cloudwatch_event_rule")
def event_rule(res: TfResource) -> Iterator[Resource]:
    state = res.value("state").text()
    enabled = res.value("is_enabled")
    yield EventRule(
        **res.common(),
        pattern=_pattern(res.raw("event_pattern")),
        pattern_location=res.where("event_pattern"),
        schedule=res.value("schedule_expression"),
        enabled=state != "DISABLED" and not (enabled.kind == "literal" and enabled.value is False),
    )


@adapter("aws_cloudwatch_event_target")
def event_target(res: TfResource) -> Iterator[Resource]:
    yield EventTarget(**res.common(), rule=ref(res.node, "rule"), target=ref(res.node, "arn"))


__all__ = ["hcl_tokens", "document", "refs"]
