"""The event contract between agents, proxies and the runtime detector.

Why a contract: the detector can only tell a runaway loop from viral demand if every
model call, tool call, compute launch and inbound (user) request is reported the same
way, as it happens. Billing data arrives hours late; these events arrive in seconds.

Transport is Amazon EventBridge. Every event has the source ``costbreaker.agent`` and
one ``detail-type`` per kind:

=================  =================  =================================================
kind               detail-type        what it reports
=================  =================  =================================================
``model_call``     ``Model Call``     one call to a foundation model (tokens, cost)
``tool_call``      ``Tool Call``      one tool / function call made by an agent
``compute_launch`` ``Compute Launch`` instances, tasks or workers started by an agent
``inbound``        ``Inbound Request``  one request from a user or client: the demand
=================  =================  =================================================

The ``detail`` object is described by the JSON schema shipped beside this module
(``event_schema.json``, loaded with :func:`load_schema`). Its fields:

- ``version`` (1), ``cluster`` (the execution cluster: the unit the breaker isolates,
  usually one execution role), ``principal`` (the role or user ARN), ``session`` (one
  agent session or conversation), ``time`` (RFC 3339, UTC);
- ``signature``: :func:`call_signature` of the model, the tool and the canonical
  arguments. For a model call the arguments are the *new input of this turn* (not the
  accumulated history), so that the same step taken again hashes the same;
- ``tokens_in``, ``tokens_out``, ``cost_usd`` (the caller's estimate, at list price),
  ``duration_ms``; for compute launches ``cost_usd`` is the cost of the first billed hour
  of what was launched;
- optional: ``model``, ``tool``, ``parent_session`` (fan-out lineage), ``request_id``,
  ``resource`` and ``count`` (compute launches), ``attributes`` (free-form extras; every
  other key is rejected so that a misspelt field fails validation instead of vanishing).

Validation uses jsonschema, imported lazily: agents that only emit events, and the
detector's hot path, never pay for it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

SOURCE = "costbreaker.agent"
SCHEMA_VERSION = 1

MODEL_CALL = "model_call"
TOOL_CALL = "tool_call"
COMPUTE_LAUNCH = "compute_launch"
INBOUND = "inbound"

KINDS: tuple[str, ...] = (MODEL_CALL, TOOL_CALL, COMPUTE_LAUNCH, INBOUND)

DETAIL_TYPES: dict[str, str] = {
    MODEL_CALL: "Model Call",
    TOOL_CALL: "Tool Call",
    COMPUTE_LAUNCH: "Compute Launch",
    INBOUND: "Inbound Request",
}
KIND_BY_DETAIL_TYPE: dict[str, str] = {v: k for k, v in DETAIL_TYPES.items()}

_SCHEMA_FILE = "event_schema.json"
_DEF_BY_KIND = {
    MODEL_CALL: "model_call",
    TOOL_CALL: "tool_call",
    COMPUTE_LAUNCH: "compute_launch",
    INBOUND: "inbound",
}


class EventError(ValueError):
    """An event does not follow the contract; the message says which field and why."""


def call_signature(model: str | None, tool: str | None, arguments: Any = None) -> str:
    """Return the call signature: a 64-bit hex digest of model, tool and canonical arguments.

    Canonical means JSON with sorted keys and no insignificant whitespace, so that
    ``{"a": 1, "b": 2}`` and ``{"b": 2, "a": 1}`` hash the same. Arguments must be JSON
    values; anything else raises ``TypeError`` rather than hashing an unstable ``repr``.
    """
    canonical = json.dumps(
        [model or "", tool or "", arguments],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=8).hexdigest()


class Event:
    """One observation, already parsed: what :meth:`Detector.observe` consumes.

    A plain class with ``__slots__`` rather than a dataclass: the detector reads these
    attributes hundreds of thousands of times a second. ``time`` is seconds since the
    Unix epoch (UTC).
    """

    __slots__ = (
        "kind",
        "cluster",
        "time",
        "session",
        "signature",
        "cost_usd",
        "tokens_in",
        "tokens_out",
        "duration_ms",
        "principal",
        "model",
        "tool",
        "parent_session",
        "resource",
        "count",
    )

    def __init__(
        self,
        kind: str,
        cluster: str,
        time: float,
        *,
        session: str = "",
        signature: str = "",
        cost_usd: float = 0.0,
        tokens_in: int = 0,
        tokens_out: int = 0,
        duration_ms: float = 0.0,
        principal: str = "",
        model: str = "",
        tool: str = "",
        parent_session: str = "",
        resource: str = "",
        count: int = 0,
    ) -> None:
        self.kind = kind
        self.cluster = cluster
        self.time = time
        self.session = session
        self.signature = signature
        self.cost_usd = cost_usd
        self.tokens_in = tokens_in
        self.tokens_out = tokens_out
        self.duration_ms = duration_ms
        self.principal = principal
        self.model = model
        self.tool = tool
        self.parent_session = parent_session
        self.resource = resource
        self.count = count

    def __repr__(self) -> str:
        return (
            f"Event({self.kind!r}, cluster={self.cluster!r}, time={self.time!r}, "
            f"session={self.session!r}, signature={self.signature!r}, cost_usd={self.cost_usd!r})"
        )

    @property
    def detail_type(self) -> str:
        return DETAIL_TYPES[self.kind]

    def to_detail(self) -> dict[str, Any]:
        """Return the EventBridge ``detail`` object for this event (schema-valid)."""
        detail: dict[str, Any] = {
            "version": SCHEMA_VERSION,
            "cluster": self.cluster,
            "principal": self.principal,
            "session": self.session,
            "time": format_time(self.time),
            "cost_usd": self.cost_usd,
            "duration_ms": self.duration_ms,
        }
        if self.signature:
            detail["signature"] = self.signature
        if self.kind != INBOUND:
            detail["tokens_in"] = self.tokens_in
            detail["tokens_out"] = self.tokens_out
        if self.model:
            detail["model"] = self.model
        if self.tool:
            detail["tool"] = self.tool
        if self.parent_session:
            detail["parent_session"] = self.parent_session
        if self.resource:
            detail["resource"] = self.resource
        if self.count:
            detail["count"] = self.count
        return detail

    @classmethod
    def from_detail(cls, detail_type: str, detail: Mapping[str, Any]) -> Event:
        """Build an event from an EventBridge detail-type and detail (not validated).

        Raises :class:`EventError` for an unknown detail-type or a missing or malformed
        required field, naming it; call :func:`validate_detail` first for a full check.
        """
        kind = KIND_BY_DETAIL_TYPE.get(detail_type)
        if kind is None:
            expected = ", ".join(sorted(KIND_BY_DETAIL_TYPE))
            raise EventError(f"unknown detail-type {detail_type!r}; expected one of: {expected}")
        try:
            cluster = str(detail["cluster"])
            when = parse_time(str(detail["time"]))
        except KeyError as exc:
            raise EventError(f"{detail_type}: required field {exc.args[0]!r} is missing") from None
        try:
            return cls(
                kind,
                cluster,
                when,
                session=str(detail.get("session", "")),
                signature=str(detail.get("signature", "")),
                cost_usd=float(detail.get("cost_usd", 0.0)),
                tokens_in=int(detail.get("tokens_in", 0)),
                tokens_out=int(detail.get("tokens_out", 0)),
                duration_ms=float(detail.get("duration_ms", 0.0)),
                principal=str(detail.get("principal", "")),
                model=str(detail.get("model", "")),
                tool=str(detail.get("tool", "")),
                parent_session=str(detail.get("parent_session", "")),
                resource=str(detail.get("resource", "")),
                count=int(detail.get("count", 0)),
            )
        except (TypeError, ValueError) as exc:
            raise EventError(f"{detail_type}: malformed numeric field: {exc}") from None

    @classmethod
    def from_eventbridge(cls, envelope: Mapping[str, Any]) -> Event:
        """Build an event from a whole EventBridge event as a Lambda target receives it."""
        source = envelope.get("source")
        if source != SOURCE:
            raise EventError(f"event source is {source!r}, expected {SOURCE!r}")
        detail = envelope.get("detail")
        if not isinstance(detail, Mapping):
            raise EventError("event has no 'detail' object")
        return cls.from_detail(str(envelope.get("detail-type", "")), detail)


def format_time(epoch_seconds: float) -> str:
    """RFC 3339 UTC with milliseconds, as the schema's ``time`` field expects."""
    dt = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_time(text: str) -> float:
    """Parse an RFC 3339 time (``Z`` or an offset) into seconds since the epoch."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise EventError(f"time {text!r} is not an RFC 3339 date-time") from None
    if dt.tzinfo is None:
        raise EventError(f"time {text!r} has no time zone; use 'Z' for UTC")
    return dt.timestamp()


@cache
def load_schema() -> dict[str, Any]:
    """Return the shipped JSON schema (the EventBridge envelope, details in ``$defs``)."""
    text = resources.files(__package__).joinpath(_SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _validator(definition: str | None) -> Any:
    import jsonschema  # lazy: emitters and the detector's hot path never need it

    schema = load_schema()
    if definition is not None:
        schema = {
            "$schema": schema["$schema"],
            "$defs": schema["$defs"],
            "$ref": f"#/$defs/{definition}",
        }
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _errors(validator: Any, instance: Any) -> list[str]:
    found = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    messages = []
    for err in found:
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        messages.append(f"{where}: {err.message}")
    return messages


def detail_errors(detail_type: str, detail: Any) -> list[str]:
    """Return every contract violation of ``detail`` for ``detail_type`` (empty if valid)."""
    kind = KIND_BY_DETAIL_TYPE.get(detail_type)
    if kind is None:
        return [f"(detail-type): unknown detail-type {detail_type!r}"]
    return _errors(_validator(_DEF_BY_KIND[kind]), detail)


def validate_detail(detail_type: str, detail: Any) -> None:
    """Raise :class:`EventError` listing every violation if ``detail`` breaks the contract."""
    problems = detail_errors(detail_type, detail)
    if problems:
        raise EventError(f"invalid {detail_type!r} detail: " + "; ".join(problems))


def validate_event(envelope: Any) -> None:
    """Validate a whole EventBridge event (source, detail-type and detail)."""
    problems = _errors(_validator(None), envelope)
    if problems:
        raise EventError("invalid costbreaker event: " + "; ".join(problems))
