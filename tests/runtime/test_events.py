"""The event contract: schema, signature helper, parsing."""

from __future__ import annotations

import json
import random

import pytest

from costbreaker.runtime import events as E
from costbreaker.runtime.simulate import SCENARIOS


def good_model_detail() -> dict:
    return {
        "version": 1,
        "cluster": "support-agents",
        "principal": "arn:aws:iam::123456789012:role/support-agents",
        "session": "s-1",
        "time": "2025-03-03T10:00:00.250Z",
        "signature": E.call_signature("small-model-v1", None, {"turn": "hello"}),
        "model": "small-model-v1",
        "tokens_in": 2000,
        "tokens_out": 300,
        "cost_usd": 0.0035,
        "duration_ms": 812.5,
    }


def test_schema_ships_with_the_package_and_is_a_valid_schema() -> None:
    import jsonschema

    schema = E.load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["source"] == {"const": "costbreaker.agent"}
    assert set(schema["properties"]["detail-type"]["enum"]) == set(E.DETAIL_TYPES.values())


@pytest.mark.parametrize(
    ("detail_type", "detail"),
    [
        ("Model Call", good_model_detail()),
        (
            "Tool Call",
            {
                "version": 1,
                "cluster": "c",
                "principal": "p",
                "session": "s",
                "time": "2025-03-03T10:00:00Z",
                "signature": "0123456789abcdef",
                "tool": "search_kb",
                "cost_usd": 0,
                "duration_ms": 12,
                "attributes": {"anything": ["goes", 1]},
            },
        ),
        (
            "Compute Launch",
            {
                "version": 1,
                "cluster": "c",
                "principal": "p",
                "session": "s",
                "parent_session": "s0",
                "time": "2025-03-03T10:00:00+02:00",
                "signature": "0123456789abcdef",
                "resource": "g5.xlarge",
                "count": 3,
                "cost_usd": 3.02,
            },
        ),
        (
            "Inbound Request",
            {
                "version": 1,
                "cluster": "c",
                "principal": "u",
                "session": "s",
                "time": "2025-03-03T10:00:00Z",
            },
        ),
    ],
)
def test_good_details_validate(detail_type: str, detail: dict) -> None:
    assert E.detail_errors(detail_type, detail) == []
    E.validate_detail(detail_type, detail)
    E.validate_event({"source": E.SOURCE, "detail-type": detail_type, "detail": detail})


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"cost_usd": -1}, "cost_usd"),
        ({"time": "yesterday"}, "date-time"),
        ({"signature": "not-hex!"}, "signature"),
        ({"tokens_in": 1.5}, "tokens_in"),
        ({"cost": 0.1}, "'cost' was unexpected"),  # a misspelt field is rejected, not ignored
        ({"version": 2}, "version"),
    ],
)
def test_bad_details_are_rejected_with_the_field_named(change: dict, fragment: str) -> None:
    detail = {**good_model_detail(), **change}
    problems = E.detail_errors("Model Call", detail)
    assert problems and any(fragment in p for p in problems), problems
    with pytest.raises(E.EventError, match="invalid 'Model Call' detail"):
        E.validate_detail("Model Call", detail)


def test_missing_required_fields_per_kind() -> None:
    detail = good_model_detail()
    del detail["model"]
    assert any("'model' is a required property" in p for p in E.detail_errors("Model Call", detail))
    # the same detail is not a tool call: it has no tool
    assert any("'tool' is a required property" in p for p in E.detail_errors("Tool Call", detail))
    assert E.detail_errors("Nonsense", detail) == ["(detail-type): unknown detail-type 'Nonsense'"]


def test_envelope_checks_source_and_detail_type() -> None:
    with pytest.raises(E.EventError, match="source"):
        E.validate_event(
            {"source": "other", "detail-type": "Model Call", "detail": good_model_detail()}
        )
    with pytest.raises(E.EventError, match="detail-type"):
        E.validate_event({"source": E.SOURCE, "detail-type": "Model call", "detail": {}})


def test_call_signature_is_canonical_and_discriminating() -> None:
    a = E.call_signature("m", "search", {"q": "x", "k": 5})
    assert a == E.call_signature("m", "search", {"k": 5, "q": "x"})  # key order is irrelevant
    assert len(a) == 16 and int(a, 16) >= 0
    assert a != E.call_signature("m", "search", {"q": "x", "k": 6})
    assert a != E.call_signature("m", "lookup", {"q": "x", "k": 5})
    assert a != E.call_signature("m2", "search", {"q": "x", "k": 5})
    assert E.call_signature(None, "t") == E.call_signature("", "t", None)
    with pytest.raises(TypeError):
        E.call_signature("m", "t", {"when": object()})  # no unstable repr hashing


def test_event_round_trips_through_detail_and_envelope() -> None:
    ev = E.Event(
        E.MODEL_CALL,
        "c1",
        1_741_000_000.125,
        session="s",
        signature="0123456789abcdef",
        cost_usd=0.01,
        tokens_in=10,
        tokens_out=2,
        duration_ms=100.0,
        principal="p",
        model="m",
    )
    detail = ev.to_detail()
    E.validate_detail(ev.detail_type, detail)
    envelope = {
        "source": E.SOURCE,
        "detail-type": ev.detail_type,
        "detail": json.loads(json.dumps(detail)),
    }
    back = E.Event.from_eventbridge(envelope)
    assert (back.kind, back.cluster, back.session, back.signature) == (
        E.MODEL_CALL,
        "c1",
        "s",
        ev.signature,
    )
    assert back.time == pytest.approx(ev.time, abs=1e-3)
    assert back.cost_usd == 0.01 and back.tokens_in == 10


def test_parse_errors_name_the_problem() -> None:
    with pytest.raises(E.EventError, match="unknown detail-type"):
        E.Event.from_detail("Model Calls", good_model_detail())
    with pytest.raises(E.EventError, match="'cluster' is missing"):
        E.Event.from_detail("Model Call", {"time": "2025-03-03T10:00:00Z"})
    with pytest.raises(E.EventError, match="no time zone"):
        E.parse_time("2025-03-03T10:00:00")
    with pytest.raises(E.EventError, match="expected 'costbreaker.agent'"):
        E.Event.from_eventbridge({"source": "aws.ec2", "detail": {}})


def test_simulated_traffic_follows_the_contract() -> None:
    """Every kind of event the simulator produces is valid under the shipped schema."""
    from costbreaker.runtime.detector import DetectorConfig

    seen: set[str] = set()
    for name in ("steady", "fan_out", "retry_storm"):
        built = SCENARIOS[name].build(random.Random(7), 1_741_000_000.0, DetectorConfig())
        for _, ev, _ in built.events[:400] + built.events[-400:]:
            E.validate_detail(ev.detail_type, ev.to_detail())
            seen.add(ev.kind)
    assert seen == set(E.KINDS)
