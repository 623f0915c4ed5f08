"""The detector on hand-made event streams: each signal, the graded response around it
(dry-run, planned windows, cool-down, reset) and bounded state."""

from __future__ import annotations

import dataclasses
import json
import random
import tracemalloc
from operator import itemgetter

import pytest

from costbreaker.runtime import simulate as S
from costbreaker.runtime.detector import (
    NOTIFY,
    OK,
    SIGNAL_CAP_HOUR,
    SIGNAL_CAP_MINUTE,
    SIGNAL_REPETITION,
    SIGNAL_RESET,
    SIGNAL_TOTAL_CAP_MINUTE,
    THROTTLE,
    TRIP,
    Decision,
    Detector,
    DetectorConfig,
    PlannedWindow,
)
from costbreaker.runtime.events import INBOUND, MODEL_CALL, TOOL_CALL, Event

T0 = 1_741_000_000.0
NO_HOUR_CAPS = {"usd_per_hour": 1e9, "total_usd_per_hour": 1e9, "total_usd_per_minute": 1e9}


def call(
    t: float,
    *,
    cluster: str = "c",
    session: str = "s",
    sig: str | None = None,
    cost: float = 0.0,
    kind: str = TOOL_CALL,
) -> Event:
    signature = sig if sig is not None else f"{random.getrandbits(64):016x}"
    return Event(kind, cluster, t, session=session, signature=signature, cost_usd=cost)


def feed(det: Detector, events: list[Event]) -> list[Decision]:
    return [det.observe(e) for e in events]


# -- hard caps ---------------------------------------------------------------------------------


def test_minute_cap_trips_with_the_numbers_in_the_explanation() -> None:
    det = Detector(DetectorConfig(usd_per_minute=20.0, **NO_HOUR_CAPS))
    decisions = feed(det, [call(T0 + i * 2.0, cost=1.5) for i in range(13)])
    assert all(d.level == OK for d in decisions)  # $19.50 in 24 s: under the cap
    d = det.observe(call(T0 + 26.0, cost=1.5))  # $21 in the minute
    assert d.level == TRIP and d.enforcing and d.signal == SIGNAL_CAP_MINUTE
    text = d.explain()
    assert text.startswith("TRIP: cluster 'c'")
    assert "spent $21.00 in the last minute" in text and "cap of $20.00" in text
    assert d.evidence[0].values == {"spend_usd": 21.0, "cap_usd_per_minute": 20.0}


def test_hour_cap_catches_a_leak_just_above_it_in_seconds_by_velocity() -> None:
    det = Detector(DetectorConfig(usd_per_hour=200.0))
    # $240/h = $0.0667/s, one call every 2 s: never near the minute cap
    leak = [call(T0 + i * 2.0, cost=240.0 / 1800) for i in range(60)]
    tripped = next(d for d in feed(det, leak) if d.level == TRIP)
    assert tripped.signal == SIGNAL_CAP_HOUR
    assert tripped.time - T0 <= 45.0
    velocity = tripped.evidence[0].values["velocity_usd_per_hour"]
    assert 200.0 < velocity <= 240.0
    assert f"spend velocity ${velocity:.0f}/h over the last 30 s" in tripped.explain()
    assert "is above the hourly cap of $200/h" in tripped.explain()


def test_hour_cap_on_actual_spend_of_the_last_hour() -> None:
    # bursts under the minute cap and too short for the velocity window, every 10 min
    det = Detector(DetectorConfig(usd_per_hour=50.0, usd_per_minute=100.0, total_usd_per_hour=1e9))
    d = None
    for burst in range(6):
        start = T0 + burst * 600.0
        for i in range(10):
            d = det.observe(call(start + i * 0.1, cost=0.9))
        for i in range(1, 40):  # a quiet tail so that windows roll
            d = det.observe(call(start + 60.0 + i * 10.0))
        if d.level == TRIP:
            break
    assert d is not None and d.level == TRIP and d.signal == SIGNAL_CAP_HOUR
    assert "in the last hour, above the hourly cap of $50.00" in d.explain()


def test_total_cap_trips_every_cluster_and_reset_total_clears_it() -> None:
    cfg = DetectorConfig(
        usd_per_minute=20.0, total_usd_per_minute=30.0, usd_per_hour=1e9, total_usd_per_hour=1e9
    )
    det = Detector(cfg)
    decisions = []
    for i in range(8):  # three clusters at $2 per event: each under its own cap
        for name in ("a", "b", "c"):
            decisions.append(det.observe(call(T0 + i, cluster=name, cost=2.0)))
    assert any(d.level == TRIP for d in decisions)
    for name in ("a", "b", "c"):
        d = det.observe(call(T0 + 9, cluster=name))
        assert d.level == TRIP and d.signal == SIGNAL_TOTAL_CAP_MINUTE
        assert "all clusters together spent" in d.explain()
    det.reset_total()
    for name in ("a", "b", "c"):
        det.reset(name)
        assert det.observe(call(T0 + 200, cluster=name)).level == OK


def test_total_hourly_cap_on_velocity_across_clusters() -> None:
    cfg = DetectorConfig(total_usd_per_hour=300.0, total_usd_per_minute=1e9)
    det = Detector(cfg)
    # ten clusters at $40/h each ($400/h in all): each far below its own $200/h cap
    decisions = []
    for i in range(60):
        for k in range(10):
            decisions.append(det.observe(call(T0 + i + k * 0.01, cluster=f"c{k}", cost=40 / 3600)))
    tripped = [d for d in decisions if d.level == TRIP]
    assert tripped and tripped[0].signal == "total_spend_cap_per_hour"
    assert tripped[0].time - T0 <= 45
    assert "all clusters together: spend velocity $" in tripped[0].explain()
    assert "above the hourly cap of $300/h" in tripped[0].explain()


# -- repetition --------------------------------------------------------------------------------


def test_the_same_call_repeated_fast_escalates_then_trips() -> None:
    det = Detector()
    levels = [
        det.observe(call(T0 + i * 0.5, session="stuck", sig="ab" * 8)).level for i in range(12)
    ]
    assert levels[:4] == [OK] * 4
    assert levels[4] == NOTIFY  # fifth time in a row
    assert levels[7] == THROTTLE
    assert levels[11] == TRIP
    d = det.decision("c")
    assert d.signal == SIGNAL_REPETITION
    text = d.explain()
    assert "session 'stuck' repeated the same tool call or launch" in text
    assert "12 times in a row in 5.5 s, one call every 0.50 s" in text
    assert d.evidence[0].values["repeats"] == 12 and d.evidence[0].values["cycle_length"] == 1


def test_a_cycle_of_calls_is_seen_even_when_model_turns_differ() -> None:
    det = Detector()
    t = T0
    last = None
    for _ in range(13):  # model turn (different each time), then the same two tools
        det.observe(call(t, session="s1", kind=MODEL_CALL))
        det.observe(call(t + 0.5, session="s1", sig="a" * 16))
        last = det.observe(call(t + 0.8, session="s1", sig="b" * 16))
        t += 1.5
    assert last is not None and last.level == TRIP
    assert "a cycle of 2 tool calls or launches" in last.explain()
    assert last.evidence[0].values["cycle_length"] == 2


def test_slow_polling_is_ordinary_repetition() -> None:
    det = Detector()
    decisions = feed(det, [call(T0 + i * 10.0, session="poll", sig="c" * 16) for i in range(40)])
    assert all(d.level == OK for d in decisions)


def test_repetition_is_per_session() -> None:
    det = Detector()
    # the same popular tool from 30 sessions, each once: demand, not a loop
    decisions = feed(det, [call(T0 + i * 0.2, session=f"s{i}", sig="d" * 16) for i in range(30)])
    assert all(d.level == OK for d in decisions)


# -- dry-run, planned windows, cool-down, reset -------------------------------------------------


def test_dry_run_never_enforces_but_says_what_it_would_do() -> None:
    rng = random.Random("dry")
    built = S.SCENARIOS["tool_loop"].build(rng, T0, DetectorConfig())
    det = Detector(DetectorConfig(dry_run=True))
    seen_trip = None
    for _, ev, _ in sorted(built.events, key=itemgetter(0)):
        d = det.observe(ev)
        assert not d.enforcing and d.level <= NOTIFY
        if d.assessed == TRIP:
            seen_trip = d
    assert seen_trip is not None and seen_trip.dry_run
    assert seen_trip.explain().startswith("NOTIFY (dry-run: would TRIP): cluster")
    assert seen_trip.to_dict()["assessed"] == "trip" and seen_trip.to_dict()["level"] == "notify"
    # the same traffic, enforcing: it trips
    enforcing = Detector(DetectorConfig())
    assert any(
        enforcing.observe(ev).level == TRIP for _, ev, _ in sorted(built.events, key=itemgetter(0))
    )


def _planned_batch() -> tuple[list[Event], tuple[PlannedWindow, ...]]:
    built = S.SCENARIOS["planned_batch"].build(random.Random("batch"), T0, DetectorConfig())
    return [ev for _, ev, _ in sorted(built.events, key=itemgetter(0))], built.planned


def test_planned_window_suppresses_an_announced_batch() -> None:
    events, planned = _planned_batch()
    unannounced = Detector(DetectorConfig())
    enforced = [d for d in feed(unannounced, events) if d.enforcing]
    assert enforced, "the batch, unannounced, is calls that demand does not explain"
    assert (
        enforced[0].signal == "demand_coupling" and "calls in the last 60 s" in enforced[0].message
    )
    announced = Detector(DetectorConfig(planned_windows=planned))
    decisions = feed(announced, events)
    assert max(d.assessed for d in decisions) < THROTTLE
    assert not any(e.signal == "demand_coupling" for d in decisions for e in d.evidence)


def test_planned_window_caps_still_trip() -> None:
    window = PlannedWindow(T0, T0 + 3600, ("c",), reason="load test", usd_per_minute=5.0)
    det = Detector(DetectorConfig(planned_windows=(window,), **NO_HOUR_CAPS))
    decisions = feed(det, [call(T0 + 10 + i, cost=1.0) for i in range(8)])
    assert decisions[-1].level == TRIP and decisions[-1].signal == SIGNAL_CAP_MINUTE
    assert "planned window 'load test'" in decisions[-1].explain()
    # outside the window the default cap applies again
    outside = Detector(DetectorConfig(planned_windows=(window,), **NO_HOUR_CAPS))
    assert outside.observe(call(T0 + 4000, cost=8.0)).level == OK


def test_planned_window_from_configuration() -> None:
    w = PlannedWindow.from_mapping(
        {"start": "2025-03-03T02:00:00Z", "end": "2025-03-03T03:00:00Z", "clusters": "etl"}
    )
    assert w.clusters == ("etl",) and w.end - w.start == 3600
    with pytest.raises(ValueError, match="end must be after start"):
        PlannedWindow(10.0, 5.0)


def _notify_then_quiet(cooldown_s: float) -> list[Decision]:
    """Three bursts of five repeats (notify), each followed by 40 s of ordinary calls."""
    det = Detector(DetectorConfig(cooldown_s=cooldown_s))
    out = []
    t = T0
    for burst in range(3):
        out += feed(det, [call(t + i * 0.5, session=f"b{burst}", sig="e" * 16) for i in range(5)])
        t += 3.0
        out += feed(det, [call(t + i * 2.0, session="normal") for i in range(20)])
        t += 40.0
    out += feed(det, [call(t + 400 + i * 5.0, session="normal") for i in range(5)])
    return out


def test_cooldown_prevents_flapping() -> None:
    def transitions(decisions: list[Decision]) -> list[str]:
        levels = [d.level.label for d in decisions]
        return [b for a, b in zip(levels, levels[1:], strict=False) if a != b]

    calm = _notify_then_quiet(cooldown_s=300.0)
    assert transitions(calm) == ["notify", "ok"]  # up once, down once after the cool-down
    assert calm[-1].evidence[-1].signal == "cooldown"
    assert "stepping down from notify" in calm[-1].explain()
    flappy = _notify_then_quiet(cooldown_s=0.0)
    assert transitions(flappy).count("notify") == 3  # without it the level flaps


def test_trip_holds_until_reset_and_reset_starts_afresh() -> None:
    det = Detector(DetectorConfig(usd_per_minute=5.0, **NO_HOUR_CAPS))
    feed(det, [call(T0 + i, cost=1.0) for i in range(6)])
    assert det.decision("c").level == TRIP
    # an hour later, still tripped: a trip is not cooled down, a person resets it
    assert det.observe(call(T0 + 3600)).level == TRIP
    det.reset("c")
    d = det.decision("c")
    assert d.level == OK and d.signal == SIGNAL_RESET and "reset by an operator" in d.explain()
    assert det.observe(call(T0 + 3601, cost=1.0)).level == OK  # the old spend is forgotten
    det.reset("never-seen")  # harmless


# -- bounded state -----------------------------------------------------------------------------


def _churn(det: Detector, start: int, count: int) -> None:
    for i in range(start, start + count):
        det.observe(
            Event(
                INBOUND if i % 7 == 0 else MODEL_CALL,
                "one",
                T0 + i * 0.01,
                session=f"session-{i}",  # a new session every event: worst case for the table
                signature=f"{i:016x}",
                cost_usd=1e-6,
            )
        )


def test_state_does_not_grow_with_the_number_of_events() -> None:
    cfg = DetectorConfig(max_sessions_per_cluster=64)
    det = Detector(cfg)
    _churn(det, 0, 20_000)  # 200 s of simulated time: every window has turned over
    tracemalloc.start()
    _churn(det, 20_000, 5_000)
    small = tracemalloc.get_traced_memory()[0]
    _churn(det, 25_000, 100_000)  # twenty times more events
    large = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert det.footprint("one")["sessions"] == 64
    assert large - small < 16_384, (small, large)


def test_signature_table_is_capped_but_a_repeating_session_survives_churn() -> None:
    det = Detector(DetectorConfig(max_sessions_per_cluster=16))
    t = T0
    last = None
    for i in range(13):
        last = det.observe(call(t, session="loop", sig="f" * 16))
        # once it repeats, 40 new sessions between two turns of the loop: more than the
        # table holds, so plain LRU would evict the loop and forget its count
        for j in range(40 if i else 5):
            det.observe(call(t + 0.01 * (j + 1), session=f"user-{i}-{j}"))
        t += 1.0
    assert det.footprint("c")["sessions"] == 16
    assert last is not None and last.level == TRIP and last.signal == SIGNAL_REPETITION


def test_number_of_clusters_is_capped_keeping_tripped_ones() -> None:
    det = Detector(DetectorConfig(max_clusters=100, usd_per_minute=1.0, **NO_HOUR_CAPS))
    det.observe(call(T0, cluster="tripped", cost=5.0))
    for i in range(1000):
        det.observe(call(T0 + 1 + i * 0.01, cluster=f"c{i}"))
    assert len(det.clusters) <= 100
    assert det.decision("tripped").level == TRIP


# -- contract of the decision --------------------------------------------------------------------


def test_decisions_are_shared_when_nothing_changes_and_serialise() -> None:
    det = Detector()
    a = det.observe(call(T0))
    b = det.observe(call(T0 + 0.1))
    assert a is b and a.level == OK and a.explain().endswith("no anomaly.")
    json.dumps(a.to_dict())
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.level = TRIP  # type: ignore[misc]


@pytest.mark.parametrize(
    "change",
    [
        {"bucket_s": 7.0},
        {"velocity_window_s": 12.0},
        {"coupling_notify_ratio": 4.0},
        {"repeat_notify_cycles": 20},
        {"usd_per_hour": 0},
        {"growth_trip_doubling_s": 999.0},
    ],
)
def test_config_rejects_inconsistent_values(change: dict) -> None:
    with pytest.raises(ValueError, match="detector config"):
        DetectorConfig(**change)


def test_config_from_a_configuration_mapping() -> None:
    cfg = DetectorConfig.from_mapping(
        {
            "usd_per_hour": 50,
            "dry_run": True,
            "planned_windows": [
                {"start": "2025-03-03T02:00:00Z", "end": "2025-03-03T04:00:00Z", "reason": "etl"}
            ],
        }
    )
    assert cfg.usd_per_hour == 50 and cfg.dry_run
    assert cfg.planned_windows[0].reason == "etl" and not cfg.planned_windows[0].clusters
    with pytest.raises(ValueError, match="unknown keys usd_per_day, usd_per_minut"):
        DetectorConfig.from_mapping({"usd_per_minut": 5, "usd_per_day": 1})


def test_late_events_count_now_instead_of_being_lost() -> None:
    det = Detector(DetectorConfig(usd_per_minute=5.0, **NO_HOUR_CAPS))
    det.observe(call(T0 + 100, cost=1.0))
    # EventBridge does not promise order: five events from up to 150 s earlier arrive now
    decisions = feed(det, [call(T0 + 100 - 30 * i, cost=1.0) for i in range(1, 6)])
    assert [d.level for d in decisions] == [OK] * 4 + [TRIP]
    assert "spent $6.00 in the last minute" in decisions[-1].explain()
