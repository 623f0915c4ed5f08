"""Acceptance on simulated traffic: every runaway trips within 60 s of its onset, no
legitimate scenario trips on any of 100 seeds, and the evidence reads as it should.

The replays run once per session, on two processes (``SEEDS`` seeds of every scenario);
the measured false-trip rates and latencies are printed at the end of the run.
"""

from __future__ import annotations

import io
import json
import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import redirect_stdout

import pytest

from costbreaker.runtime.simulate import LEGIT, RUNAWAY, Result, main, run_scenario, summarize

from .conftest import MEASURED

SEEDS = range(1, 101)


def _run(job: tuple[str, int]) -> Result:
    return run_scenario(*job)


@pytest.fixture(scope="module")
def results() -> dict[str, list[Result]]:
    jobs = [(name, seed) for name in LEGIT + RUNAWAY for seed in SEEDS]
    workers = min(2, os.cpu_count() or 1)
    with ProcessPoolExecutor(workers) as pool:
        done = list(pool.map(_run, jobs, chunksize=5))
    by: dict[str, list[Result]] = {name: [] for name in LEGIT + RUNAWAY}
    for r in done:
        by[r.scenario].append(r)
    for name, rs in by.items():
        s = summarize(rs)
        if s.kind == "legit":
            MEASURED.append(
                f"{name:14} legit    false trips {s.false_trips}/{s.runs} "
                f"(rate {s.false_trip_rate:.3f}), runs that notified {s.notified_runs}, "
                f"{s.events:,} events"
            )
        else:
            lat = s.latency_s
            MEASURED.append(
                f"{name:14} runaway  tripped within 60 s {s.within_60s}/{s.runs}, latency s "
                f"min/median/max {lat.get('min')}/{lat.get('median')}/{lat.get('max')}, "
                f"signals {s.signals}, false trips {s.false_trips}"
            )
    return by


@pytest.mark.parametrize("name", LEGIT)
def test_legitimate_traffic_never_trips(results: dict[str, list[Result]], name: str) -> None:
    rs = results[name]
    assert len(rs) == len(SEEDS)
    summary = summarize(rs)
    tripped = [(r.seed, r.explanation) for r in rs if r.tripped]
    assert summary.false_trip_rate == 0.0, tripped[:3]
    assert all(r.max_level in ("ok", "notify") for r in rs)  # never even throttled


def test_viral_growth_is_reported_as_demand(results: dict[str, list[Result]]) -> None:
    # the launch is noticed, and only noticed
    assert all(r.notified and not r.tripped for r in results["viral"])


@pytest.mark.parametrize("name", RUNAWAY)
def test_runaways_trip_within_60_seconds(results: dict[str, list[Result]], name: str) -> None:
    rs = results[name]
    late = [(r.seed, r.trip_after_s) for r in rs if r.trip_after_s is None or r.trip_after_s > 60]
    early = [(r.seed, r.trip_after_s) for r in rs if r.false_trips]
    assert not late, late[:5]
    assert not early, early[:5]
    for r in rs:
        assert r.trip_after_s is not None and 0 <= r.trip_after_s <= 60.0
        assert r.decision is not None and r.decision["level"] == "trip"
        # the slow backstops, on the same anomaly, come later and cost more
        for after, spent in (
            (r.billing_alarm_after_s, r.billing_alarm_spent_usd),
            (r.budget_after_s, r.budget_spent_usd),
        ):
            assert after is not None and spent is not None, r
            assert after > r.trip_after_s and spent > 10 * r.spent_before_trip_usd


EXPECTED_EVIDENCE = {
    "tool_loop": (
        "repetition",
        ["session 'loop-", "repeated the same tool call", "12 times in a row"],
    ),
    "retry_storm": ("repetition", ["session 'storm-", "one call every"]),
    "loop_in_viral": ("repetition", ["session 'loop-", "times in a row"]),
    "slow_leak": ("spend_cap_per_hour", ["spend velocity $", "above the hourly cap of $200/h"]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_EVIDENCE))
def test_trip_evidence_names_the_signal_and_numbers(
    results: dict[str, list[Result]], name: str
) -> None:
    signal, fragments = EXPECTED_EVIDENCE[name]
    for r in results[name]:
        assert r.trip_signal == signal, (r.seed, r.explanation)
        assert r.explanation.startswith("TRIP: cluster 'support-agents' at 20")
        for fragment in fragments:
            assert fragment in r.explanation, (fragment, r.explanation)


def test_fan_out_evidence_shows_calls_decoupled_from_demand(
    results: dict[str, list[Result]],
) -> None:
    for r in results["fan_out"]:
        assert r.trip_signal in {"session_volume", "decoupled_growth"}, r.explanation
        assert "inbound requests" in r.explanation and "standard deviations above" in r.explanation
        ev = r.decision["evidence"][0]  # type: ignore[index]
        assert ev["values"]["ratio"] >= 2.0 and ev["values"]["z"] >= 3.0
        if r.trip_signal == "session_volume":
            assert "calls in" in r.explanation and "any request here needs" in r.explanation
        else:
            assert "doubling every" in r.explanation


def test_simulation_is_deterministic_per_seed() -> None:
    a = run_scenario("fan_out", 7)
    b = run_scenario("fan_out", 7)
    c = run_scenario("fan_out", 8)
    assert a == b
    assert (a.trip_after_s, a.events) != (c.trip_after_s, c.events)


def test_dry_run_reports_would_trip_without_enforcing() -> None:
    r = run_scenario("retry_storm", 3, dry_run=True)
    assert r.dry_run and r.tripped and 0 <= (r.trip_after_s or -1) <= 60
    assert r.decision is not None and r.decision["level"] == "notify"
    assert r.decision["assessed"] == "trip"
    assert "dry-run: would TRIP" in r.explanation


def _cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def test_cli_text_report_for_one_scenario() -> None:
    code, text = _cli("--scenario", "tool_loop", "--seed", "4")
    assert code == 0
    assert "tool_loop (runaway), seed 4" in text
    assert "tripped" in text and "after onset on repetition" in text
    assert "billing alarm (6-hourly data): +" in text and "budget (8-hourly refresh):" in text


def test_cli_json_report_over_seeds() -> None:
    code, text = _cli("--scenario", "steady", "--seeds", "3", "--format", "json")
    assert code == 0
    data = json.loads(text)
    assert data["seeds"] == [1, 2, 3]
    (summary,) = data["scenarios"]
    assert summary["scenario"] == "steady" and summary["runs"] == 3
    assert summary["false_trips"] == 0 and summary["false_trip_rate"] == 0.0


def test_cli_dry_run_and_usage_errors() -> None:
    code, text = _cli("--scenario", "slow_leak", "--dry-run")
    assert code == 0 and "[dry-run]" in text and "would TRIP" in text
    with pytest.raises(SystemExit) as err, redirect_stdout(io.StringIO()):
        main(["--scenario", "nope"])
    assert err.value.code == 2
