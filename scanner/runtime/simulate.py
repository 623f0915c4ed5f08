"""Simulated traffic, replayed through the detector: the proof that it works, in the product.

Why: a runaway detector is only worth deploying if it trips on real runaways within
seconds *and* stays quiet on a viral launch. Neither can be shown on a live account, so
``costbreaker simulate`` generates the traffic of one execution cluster, deterministic
per seed, replays it through :class:`~costbreaker.runtime.detector.Detector` in simulated
time and reports, per scenario:

- whether and when the detector tripped after the anomaly began, the signal that tripped
  it, its explanation, and the dollars the anomaly had spent by then;
- false trips (any trip on legitimate traffic, or before a runaway's onset), measured
  over as many seeds as asked (``--seeds 100``), never assumed;
- on the same anomaly, when the slow backstops would have fired and what would have been
  spent by then: a CloudWatch billing alarm (``EstimatedCharges`` data every six hours)
  and an AWS budget (refreshed every eight hours), both set to catch $100 of unexpected
  spend, assuming the anomaly keeps running until they fire (fan-outs and storms stop
  growing at an account concurrency of 1,000). That is their best case: each fires at
  its first data refresh after the threshold is crossed (refreshes at fixed UTC hours),
  while real billing data also lags the spend.

The normal workload: users send about one request every ten seconds; each starts an
agent session of one to eight model calls (a small model at $1/M input and $5/M output
tokens, about $0.004 a call) with tool calls in between; some tool calls are retried
once, some poll a job a few times, a few sessions spawn a sub-agent. That is about
$4 an hour against the default caps of $20 a minute and $200 an hour.

Scenarios (``legit`` ones must never trip, ``runaway`` ones must trip within 60 s):

=================  =======  =============================================================
steady             legit    one hour of the normal workload
diurnal            legit    the morning ramp of a day, demand ×5 from trough to peak in 3 h
viral              legit    demand ×20 within ten minutes, a 15-minute plateau, a decline
planned_batch      legit    a 27-minute batch job (six workers) inside an announced window
tool_loop          runaway  a session calls the same tool again and again, context growing
fan_out            runaway  recursive sub-agents: every agent spawns another every 30 s
retry_storm        runaway  a dependency fails and every session retries it without backoff
slow_leak          runaway  a background job spending 1.2× the hourly cap, steadily
loop_in_viral      runaway  a tool loop starting in the middle of a viral launch
=================  =======  =============================================================

Run ``costbreaker simulate --scenario all --seeds 100`` for the false-trip rates.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from operator import itemgetter
from typing import Any

from .detector import TRIP, Decision, Detector, DetectorConfig, Level, PlannedWindow
from .events import COMPUTE_LAUNCH, INBOUND, MODEL_CALL, TOOL_CALL, Event

CLUSTER = "support-agents"
PRINCIPAL = "arn:aws:iam::123456789012:role/support-agents"
MODEL = "small-model-v1"
PRICE_IN = 1.0e-6  # USD per input token
PRICE_OUT = 5.0e-6  # USD per output token
BASE_RATE = 0.1  # inbound requests per second in normal traffic
WARMUP_S = 1200.0  # normal traffic before any anomaly
EPOCH = 1_740_960_000.0  # 2025-03-03T00:00:00Z; each seed starts at its own time of day
GUARD_THRESHOLD_USD = 100.0
BILLING_PERIOD_S = 6 * 3600.0
BUDGET_PERIOD_S = 8 * 3600.0
GUARD_HORIZON_S = 72 * 3600.0
CONCURRENCY = 1000  # where an exponential runaway stops growing (account concurrency)
LOOP_CONTEXT_CAP = 200_000
RUNAWAY_HORIZON_S = 180.0  # traffic simulated after a runaway's onset (it must trip by 60 s)

_FIXED_TOOLS = ("get_time", "list_open_tickets")  # no arguments: always the same signature
_TOOLS = ("search_kb", "get_order", "get_customer", "create_ticket", "send_reply", "lookup_sku")
_TOOLS += _FIXED_TOOLS

Stream = list[tuple[float, Event, bool]]  # (time, event, part of the anomaly?)


def _sig(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def _stable_sig(name: str) -> str:
    # a signature that does not depend on PYTHONHASHSEED
    value = 1469598103934665603
    for ch in name.encode():
        value = ((value ^ ch) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def _model_cost(tokens_in: int, tokens_out: int) -> float:
    return tokens_in * PRICE_IN + tokens_out * PRICE_OUT


class _Traffic:
    """Builds one scenario's event stream for one seed."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.out: Stream = []
        self._n = 0

    def sid(self, prefix: str = "s") -> str:
        self._n += 1
        return f"{prefix}-{self._n}"

    def add(self, ev: Event, anomalous: bool = False) -> None:
        self.out.append((ev.time, ev, anomalous))

    def model(self, t: float, sid: str, sig: str, tin: int, tout: int, dur: float, a: bool) -> None:
        self.add(
            Event(
                MODEL_CALL,
                CLUSTER,
                t,
                session=sid,
                signature=sig,
                cost_usd=_model_cost(tin, tout),
                tokens_in=tin,
                tokens_out=tout,
                duration_ms=dur * 1000.0,
                principal=PRINCIPAL,
                model=MODEL,
            ),
            a,
        )

    def tool(
        self, t: float, sid: str, tool: str, sig: str, dur: float, a: bool, cost: float = 1e-4
    ) -> None:
        self.add(
            Event(
                TOOL_CALL,
                CLUSTER,
                t,
                session=sid,
                signature=sig,
                cost_usd=cost,
                duration_ms=dur * 1000.0,
                principal=PRINCIPAL,
                tool=tool,
            ),
            a,
        )

    def inbound(self, t: float, sid: str, a: bool = False) -> None:
        self.add(Event(INBOUND, CLUSTER, t, session=sid, principal="user"), a)

    # -- the normal agent session --------------------------------------------------------

    def session(self, t0: float, *, inbound: bool = True, max_steps: int = 8) -> None:
        rng = self.rng
        sid = self.sid()
        if inbound:
            self.inbound(t0, sid)
        t = t0 + rng.uniform(0.05, 0.3)
        steps = min(max_steps, rng.choices((1, 2, 3, 4, 5, 6, 8), (15, 25, 25, 15, 10, 6, 4))[0])
        for i in range(steps):
            dur = rng.uniform(0.6, 2.5)
            tin = int(rng.uniform(1000, 3000)) + 400 * i
            tout = int(rng.uniform(100, 400))
            sig = _sig(rng)
            self.model(t, sid, sig, tin, tout, dur, False)
            t += dur
            if rng.random() < 0.03:  # throttled and retried once, same input
                t += rng.uniform(0.5, 2.0)
                self.model(t, sid, sig, tin, tout, dur, False)
                t += dur
            if i == 0 and inbound and rng.random() < 0.05:  # a sub-agent for a side task
                self.session(t, inbound=False, max_steps=3)
            if i == steps - 1 or rng.random() >= 0.8:
                continue
            tool = rng.choice(_TOOLS)
            tsig = _stable_sig(tool) if tool in _FIXED_TOOLS else _sig(rng)
            tdur = rng.uniform(0.1, 0.8)
            self.tool(t, sid, tool, tsig, tdur, False)
            t += tdur
            roll = rng.random()
            if roll < 0.05:  # a transient error, retried once
                t += rng.uniform(0.2, 1.0)
                self.tool(t, sid, tool, tsig, tdur, False)
                t += tdur
            elif roll < 0.08:  # waiting for a job: poll its status a few times
                psig = _sig(rng)
                for _ in range(rng.randint(3, 6)):
                    t += rng.uniform(5.0, 15.0)
                    self.tool(t, sid, "get_job_status", psig, 0.1, False)

    def arrivals(self, t0: float, t1: float, rate: Callable[[float], float], peak: float) -> None:
        """Sessions from a Poisson process of ``rate(t)`` requests/s (thinning)."""
        rng = self.rng
        t = t0
        while True:
            t += rng.expovariate(peak)
            if t >= t1:
                return
            if rng.random() * peak <= rate(t):
                self.session(t)

    # -- anomalies -----------------------------------------------------------------------------

    def tool_loop(self, t0: float, t1: float) -> None:
        """A session stuck calling the same tool; each model turn re-reads a longer context."""
        rng = self.rng
        sid = self.sid("loop")
        self.inbound(t0, sid, True)
        tool_sig = _sig(rng)
        t = t0 + 0.2
        i = 0
        while t < t1:
            dur = rng.uniform(1.0, 2.5)
            tin = min(3000 + 1200 * i, LOOP_CONTEXT_CAP)
            # the model turn's new input carries the step number: its signature differs
            self.model(t, sid, _sig(rng), tin, int(rng.uniform(80, 200)), dur, True)
            t += dur
            tdur = rng.uniform(0.2, 0.8)
            self.tool(t, sid, "search_kb", tool_sig, tdur, True)
            t += tdur
            i += 1

    def fan_out(self, t0: float, t1: float) -> None:
        """Recursive sub-agents: every agent spawns one more every ~30 s, so the number of
        agents doubles every 30 s (up to the account concurrency)."""
        rng = self.rng
        root = self.sid("fan")
        self.inbound(t0, root, True)
        agents = [(t0 + 0.2, root)]  # (start time, session); agents never finish
        spawned = 1
        while agents:
            start, sid = agents.pop()
            t = start
            next_spawn = start + rng.uniform(27.0, 33.0)
            while t < t1:
                dur = rng.uniform(0.6, 1.2)
                self.model(t, sid, _sig(rng), int(rng.uniform(1500, 3000)), 200, dur, True)
                t += dur
                tdur = rng.uniform(0.1, 0.4)
                self.tool(t, sid, "delegate", _sig(rng), tdur, True)
                t += tdur
                if t >= next_spawn and spawned < CONCURRENCY:
                    child = self.sid("fan")
                    launch = Event(
                        COMPUTE_LAUNCH,
                        CLUSTER,
                        t,
                        session=child,
                        signature=_sig(rng),
                        cost_usd=0.002,
                        principal=PRINCIPAL,
                        parent_session=sid,
                        resource="lambda:sub-agent",
                        count=1,
                    )
                    self.add(launch, True)
                    agents.append((t + 0.1, child))
                    spawned += 1
                    next_spawn = t + rng.uniform(27.0, 33.0)

    def retry_storm(self, t0: float, t1: float) -> None:
        """The payments API fails from t0; every session that needs it retries forever,
        without backoff. Sessions keep arriving and join the storm."""
        rng = self.rng
        t = t0
        while t < t1:
            sid = self.sid("storm")
            self.inbound(t, sid, True)
            sig = _sig(rng)  # the order being charged
            c = t + rng.uniform(1.0, 3.0)
            self.model(c, sid, _sig(rng), 2500, 300, 1.5, True)
            c += 1.5
            while c < t1:
                self.tool(c, sid, "payments.charge", sig, 0.05, True, cost=2e-4)
                c += rng.uniform(0.2, 0.6)
            t += rng.expovariate(BASE_RATE)

    def slow_leak(self, t0: float, t1: float, usd_per_hour: float) -> None:
        """A background job re-summarising documents (all different) at a steady pace
        that spends ``usd_per_hour``; no inbound request asks for it."""
        rng = self.rng
        cost = 0.12
        interval = cost / (usd_per_hour / 3600.0)
        t = t0
        sid = self.sid("leak")
        n = 0
        while t < t1:
            tin = int(rng.uniform(21_000, 25_000))
            tout = int((cost - tin * PRICE_IN) / PRICE_OUT)
            self.model(t, sid, _sig(rng), tin, tout, interval * 0.8, True)
            n += 1
            if n % 20 == 0:
                sid = self.sid("leak")
            t += interval * rng.uniform(0.9, 1.1)

    def batch(self, t0: float, t1: float, workers: int) -> None:
        """An announced batch job: workers summarise distinct documents back to back."""
        rng = self.rng
        for w in range(workers):
            t = t0 + rng.uniform(0, 60)
            sid = self.sid(f"batch{w}")
            n = 0
            while t < t1:
                dur = rng.uniform(1.5, 3.0)
                tin, tout = int(rng.uniform(3000, 6000)), int(rng.uniform(500, 1000))
                self.model(t, sid, _sig(rng), tin, tout, dur, False)
                t += dur
                n += 1
                if n % 50 == 0:
                    sid = self.sid(f"batch{w}")


# -- scenarios ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """One scenario instance: its events, where the anomaly starts, what the config adds."""

    events: Stream
    start: float
    end: float
    onset: float | None
    planned: tuple[PlannedWindow, ...] = ()
    anomaly_rate: Callable[[float], float] | None = None  # USD/s, seconds after onset


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # "legit" or "runaway"
    description: str
    build: Callable[[random.Random, float, DetectorConfig], Built]


def _viral_rate(t_launch: float) -> Callable[[float], float]:
    """Demand ×20 within ten minutes (exponential), 15 min plateau, decline to ×10."""

    def rate(t: float) -> float:
        x = t - t_launch
        if x < 0:
            return BASE_RATE
        if x < 600:
            return BASE_RATE * 20 ** (x / 600)
        if x < 1500:
            return BASE_RATE * 20
        return BASE_RATE * max(10.0, 20 - 10 * (x - 1500) / 300)

    return rate


def _steady(rng: random.Random, start: float, cfg: DetectorConfig) -> Built:
    tr = _Traffic(rng)
    end = start + 3600
    tr.arrivals(start, end, lambda t: BASE_RATE, BASE_RATE)
    return Built(tr.out, start, end, None)


def _diurnal(rng: random.Random, start: float, cfg: DetectorConfig) -> Built:
    tr = _Traffic(rng)
    span = 3 * 3600.0
    end = start + span

    def rate(t: float) -> float:
        return BASE_RATE * (1 + 2 * (1 - math.cos(math.pi * (t - start) / span)))

    tr.arrivals(start, end, rate, BASE_RATE * 5)
    return Built(tr.out, start, end, None)


def _viral(rng: random.Random, start: float, cfg: DetectorConfig) -> Built:
    tr = _Traffic(rng)
    launch = start + WARMUP_S
    end = launch + 1800
    tr.arrivals(start, end, _viral_rate(launch), BASE_RATE * 20)
    return Built(tr.out, start, end, None)


def _planned_batch(rng: random.Random, start: float, cfg: DetectorConfig) -> Built:
    tr = _Traffic(rng)
    w0, w1 = start + WARMUP_S, start + WARMUP_S + 1800
    end = start + 3600
    tr.arrivals(start, end, lambda t: BASE_RATE, BASE_RATE)
    tr.batch(w0 + 60, w1 - 120, workers=6)
    window = PlannedWindow(w0, w1, (CLUSTER,), reason="nightly summaries")
    return Built(tr.out, start, end, None, planned=(window,))


def _onset(rng: random.Random, start: float) -> float:
    return start + WARMUP_S + rng.uniform(0, 60)


def _loop_rate(tau: float) -> float:
    """Expected spend rate (USD/s) of one tool loop, ``tau`` seconds in (period ~2.25 s)."""
    period = 2.25
    i = tau / period
    tin = min(3000 + 1200 * i, LOOP_CONTEXT_CAP)
    return (_model_cost(int(tin), 140) + 1e-4) / period


def _tool_loop(rng: random.Random, start: float, cfg: DetectorConfig) -> Built:
    tr = _Traffic(rng)
    onset = _onset(rng, start)
    end = onset + RUNAWAY_HORIZON_S
    tr.arrivals(start, end, lambda t: BASE_RATE, BASE_RATE)
    tr.tool_loop(onset, end)
    return Built(tr.out, start, end, onset, anomaly_rate=_loop_rate)


def _fan_out(rng: random.Random, start: float, cfg: DetectorConfig) -> Built:
    tr = _Traffic(rng)
    onset = _onset(rng, start)
    end = onset + RUNAWAY_HORIZON_S
    tr.arrivals(start, end, lambda t: BASE_RATE, BASE_RATE)
    tr.fan_out(onset, end)
    per_agent = (_model_cost(2250, 200) + 1e-4) / 1.15

    def rate(tau: float) -> float:
        return min(2 ** min(tau / 30.0, 30.0), CONCURRENCY) * per_agent

    return Built(tr.out, start, end, onset, anomaly_rate=rate)


def _retry_storm(rng: random.Random, start: float, cfg: DetectorConfig) -> Built:
    tr = _Traffic(rng)
    onset = _onset(rng, start)
    end = onset + RUNAWAY_HORIZON_S
    tr.arrivals(start, onset, lambda t: BASE_RATE, BASE_RATE)
    tr.retry_storm(onset, end)

    def rate(tau: float) -> float:
        stuck = min(1 + BASE_RATE * tau, CONCURRENCY)
        return stuck * 2e-4 / 0.4 + BASE_RATE * _model_cost(2500, 300)

    return Built(tr.out, start, end, onset, anomaly_rate=rate)


def _slow_leak(rng: random.Random, start: float, cfg: DetectorConfig) -> Built:
    tr = _Traffic(rng)
    onset = _onset(rng, start)
    end = onset + RUNAWAY_HORIZON_S
    leak = 1.2 * cfg.usd_per_hour
    tr.arrivals(start, end, lambda t: BASE_RATE, BASE_RATE)
    tr.slow_leak(onset, end, leak)
    return Built(tr.out, start, end, onset, anomaly_rate=lambda tau: leak / 3600.0)


def _loop_in_viral(rng: random.Random, start: float, cfg: DetectorConfig) -> Built:
    tr = _Traffic(rng)
    launch = start + WARMUP_S
    onset = launch + 300 + rng.uniform(0, 60)
    end = onset + RUNAWAY_HORIZON_S
    tr.arrivals(start, end, _viral_rate(launch), BASE_RATE * 20)
    tr.tool_loop(onset, end)
    return Built(tr.out, start, end, onset, anomaly_rate=_loop_rate)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("steady", "legit", "one hour of normal traffic", _steady),
        Scenario("diurnal", "legit", "morning ramp, demand x5 in three hours", _diurnal),
        Scenario("viral", "legit", "viral launch: demand x20 within ten minutes", _viral),
        Scenario("planned_batch", "legit", "batch job inside an announced window", _planned_batch),
        Scenario("tool_loop", "runaway", "one session calling the same tool in a loop", _tool_loop),
        Scenario("fan_out", "runaway", "recursive sub-agents doubling every 30 s", _fan_out),
        Scenario(
            "retry_storm", "runaway", "a failing dependency retried without backoff", _retry_storm
        ),
        Scenario(
            "slow_leak", "runaway", "steady background spend at 1.2x the hourly cap", _slow_leak
        ),
        Scenario(
            "loop_in_viral", "runaway", "a tool loop hidden in a viral launch", _loop_in_viral
        ),
    )
}
LEGIT = tuple(n for n, s in SCENARIOS.items() if s.kind == "legit")
RUNAWAY = tuple(n for n, s in SCENARIOS.items() if s.kind == "runaway")


# -- replay ----------------------------------------------------------------------------------------


@dataclass
class Result:
    """One scenario, one seed."""

    scenario: str
    kind: str
    seed: int
    dry_run: bool
    events: int
    duration_s: float
    onset_s: float | None  # seconds from the start of the traffic
    tripped: bool
    trip_after_s: float | None  # seconds after onset (negative: before it)
    trip_signal: str
    explanation: str
    spent_before_trip_usd: float  # by the anomaly, from onset to the trip
    false_trips: int
    max_level: str
    notified: bool
    first_notice: str  # the first decision above ok, explained
    billing_alarm_after_s: float | None = None
    billing_alarm_spent_usd: float | None = None
    budget_after_s: float | None = None
    budget_spent_usd: float | None = None
    decision: dict[str, Any] | None = field(default=None, repr=False)


def _first_refresh_after(t: float, period: float) -> float:
    return math.ceil(t / period) * period


def _backstops(built: Built) -> tuple[float | None, float | None, float | None, float | None]:
    """When the billing alarm and the budget would fire on the anomaly, and its spend then.

    The anomaly's spend is integrated (one-minute steps) from its expected rate; each
    guard fires at its first data refresh after that spend passes the threshold.
    """
    if built.onset is None or built.anomaly_rate is None:
        return None, None, None, None
    step = 60.0
    spent = 0.0
    tau = 0.0
    cumulative: list[float] = [0.0]
    crossed: float | None = None
    while tau < GUARD_HORIZON_S:
        spent += built.anomaly_rate(tau + step / 2) * step
        tau += step
        cumulative.append(spent)
        if crossed is None and spent >= GUARD_THRESHOLD_USD:
            crossed = tau
    if crossed is None:
        return None, None, None, None

    def fire(period: float) -> tuple[float | None, float | None]:
        at = _first_refresh_after(built.onset + crossed, period) - built.onset  # type: ignore[operator]
        if at > GUARD_HORIZON_S:
            return None, None
        return at, cumulative[min(int(at // step), len(cumulative) - 1)]

    alarm_at, alarm_spent = fire(BILLING_PERIOD_S)
    budget_at, budget_spent = fire(BUDGET_PERIOD_S)
    return alarm_at, alarm_spent, budget_at, budget_spent


def run_scenario(
    name: str, seed: int = 1, *, dry_run: bool = False, config: DetectorConfig | None = None
) -> Result:
    """Generate scenario ``name`` for ``seed`` and replay it through a fresh detector."""
    scenario = SCENARIOS[name]
    rng = random.Random(f"{name}:{seed}")
    start = EPOCH + rng.uniform(0, 86400)
    base = config or DetectorConfig()
    built = scenario.build(rng, start, base)
    cfg = replace(
        base, dry_run=dry_run or base.dry_run, planned_windows=base.planned_windows + built.planned
    )
    events = sorted(built.events, key=itemgetter(0))
    detector = Detector(cfg)
    observe = detector.observe
    onset = built.onset
    trip: Decision | None = None
    notice: Decision | None = None
    max_level = Level.OK
    anomaly_spend = 0.0
    count = 0
    for t, ev, anomalous in events:
        if anomalous:
            anomaly_spend += ev.cost_usd
        decision = observe(ev)
        count += 1
        assessed = decision.assessed
        if assessed > max_level:
            max_level = assessed
            if notice is None:
                notice = decision
            if assessed == TRIP:
                trip = decision
                if onset is not None and t >= onset:
                    break  # the breaker stops the runaway here
    false_trips = 0
    trip_after = None
    if trip is not None:
        if onset is None or trip.time < onset:
            false_trips = 1
        if onset is not None:
            trip_after = trip.time - onset
    alarm_at, alarm_spent, budget_at, budget_spent = _backstops(built)
    return Result(
        scenario=name,
        kind=scenario.kind,
        seed=seed,
        dry_run=cfg.dry_run,
        events=count,
        duration_s=(min(trip.time, built.end) if trip and onset else built.end) - built.start,
        onset_s=None if onset is None else onset - built.start,
        tripped=trip is not None,
        trip_after_s=None if trip_after is None else round(trip_after, 3),
        trip_signal=trip.evidence[0].signal if trip and trip.evidence else "",
        explanation=trip.explain() if trip else "",
        first_notice=notice.explain() if notice else "",
        spent_before_trip_usd=round(anomaly_spend, 4),
        false_trips=false_trips,
        max_level=max_level.label,
        notified=max_level >= Level.NOTIFY,
        billing_alarm_after_s=alarm_at,
        billing_alarm_spent_usd=None if alarm_spent is None else round(alarm_spent, 2),
        budget_after_s=budget_at,
        budget_spent_usd=None if budget_spent is None else round(budget_spent, 2),
        decision=trip.to_dict() if trip else None,
    )


@dataclass
class Summary:
    """One scenario over many seeds."""

    scenario: str
    kind: str
    runs: int
    trips: int
    false_trips: int
    false_trip_rate: float
    notified_runs: int
    tripped_after_onset: int
    within_60s: int
    latency_s: dict[str, float] = field(default_factory=dict)  # min / median / max
    spent_before_trip_usd: dict[str, float] = field(default_factory=dict)
    signals: dict[str, int] = field(default_factory=dict)
    billing_alarm_after_s: float | None = None  # median
    billing_alarm_spent_usd: float | None = None
    budget_after_s: float | None = None
    budget_spent_usd: float | None = None
    events: int = 0


def _spread(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


def summarize(results: Sequence[Result]) -> Summary:
    first = results[0]
    latencies = [
        r.trip_after_s for r in results if r.trip_after_s is not None and r.trip_after_s >= 0
    ]
    signals: dict[str, int] = {}
    for r in results:
        if r.tripped:
            signals[r.trip_signal] = signals.get(r.trip_signal, 0) + 1
    false_trips = sum(r.false_trips for r in results)
    return Summary(
        scenario=first.scenario,
        kind=first.kind,
        runs=len(results),
        trips=sum(r.tripped for r in results),
        false_trips=false_trips,
        false_trip_rate=false_trips / len(results),
        notified_runs=sum(r.notified for r in results),
        tripped_after_onset=len(latencies),
        within_60s=sum(1 for v in latencies if v <= 60.0),
        latency_s=_spread(latencies),
        spent_before_trip_usd=_spread(
            [r.spent_before_trip_usd for r in results if r.trip_after_s is not None]
        ),
        signals=dict(sorted(signals.items())),
        billing_alarm_after_s=_median([r.billing_alarm_after_s for r in results]),
        billing_alarm_spent_usd=_median([r.billing_alarm_spent_usd for r in results]),
        budget_after_s=_median([r.budget_after_s for r in results]),
        budget_spent_usd=_median([r.budget_spent_usd for r in results]),
        events=sum(r.events for r in results),
    )


def run_many(
    name: str, seeds: Sequence[int], *, dry_run: bool = False, config: DetectorConfig | None = None
) -> tuple[Summary, list[Result]]:
    results = [run_scenario(name, s, dry_run=dry_run, config=config) for s in seeds]
    return summarize(results), results


# -- report ----------------------------------------------------------------------------------------


def _hours(seconds: float | None) -> str:
    if seconds is None:
        return "not within 72 h"
    return f"+{seconds / 3600:.1f} h"


def _money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def _text_single(r: Result) -> str:
    lines = [f"{r.scenario} ({r.kind}), seed {r.seed}{' [dry-run]' if r.dry_run else ''}"]
    lines.append(f"  {r.events:,} events over {r.duration_s / 60:.1f} simulated minutes")
    if r.kind == "legit":
        verdict = "FALSE TRIP" if r.tripped else "no trip (correct)"
        lines.append(f"  {verdict}; highest level {r.max_level}")
        if r.first_notice and not r.tripped:
            lines.append(f"  first notice: {r.first_notice}")
    elif r.trip_after_s is not None and r.trip_after_s >= 0:
        lines.append(
            f"  tripped {r.trip_after_s:.1f} s after onset on {r.trip_signal}; the anomaly "
            f"had spent ${r.spent_before_trip_usd:,.2f}"
        )
    else:
        lines.append(
            "  DID NOT TRIP after onset" + (" (false trip before it)" if r.tripped else "")
        )
    if r.explanation:
        lines.append(f"  why: {r.explanation}")
    if r.kind == "runaway":
        lines.append(
            f"  billing alarm (6-hourly data): {_hours(r.billing_alarm_after_s)}, "
            f"{_money(r.billing_alarm_spent_usd)} spent by then"
        )
        lines.append(
            f"  budget (8-hourly refresh):     {_hours(r.budget_after_s)}, "
            f"{_money(r.budget_spent_usd)} spent by then"
        )
    return "\n".join(lines)


def _text_summary(s: Summary) -> str:
    lines = [f"{s.scenario} ({s.kind}), {s.runs} seeds, {s.events:,} events"]
    lines.append(
        f"  false trips: {s.false_trips}/{s.runs} (rate {s.false_trip_rate:.3f}); "
        f"runs that notified: {s.notified_runs}"
    )
    if s.kind == "runaway":
        lat = s.latency_s
        lines.append(
            f"  tripped after onset: {s.tripped_after_onset}/{s.runs}, within 60 s: "
            f"{s.within_60s}/{s.runs}; latency s min/median/max: "
            + ("/".join(f"{lat[k]:.1f}" for k in ("min", "median", "max")) if lat else "-")
        )
        sp = s.spent_before_trip_usd
        if sp:
            lines.append(
                "  anomaly spend before trip $ min/median/max: "
                + "/".join(f"{sp[k]:,.2f}" for k in ("min", "median", "max"))
            )
        lines.append("  tripping signals: " + ", ".join(f"{k} {v}" for k, v in s.signals.items()))
        lines.append(
            f"  billing alarm: {_hours(s.billing_alarm_after_s)}, "
            f"{_money(s.billing_alarm_spent_usd)} spent; budget: {_hours(s.budget_after_s)}, "
            f"{_money(s.budget_spent_usd)} spent (medians)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``costbreaker simulate``: replay scenarios through the detector and report."""
    parser = argparse.ArgumentParser(
        prog="costbreaker simulate",
        description="Replay simulated agent traffic through the runtime detector and report "
        "when it trips, what was spent, and when billing alarms and budgets would have fired.",
    )
    parser.add_argument(
        "--scenario",
        default="all",
        choices=[*SCENARIOS, "all"],
        metavar="NAME",
        help="one of: " + ", ".join(SCENARIOS) + ", or all (default)",
    )
    parser.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    parser.add_argument(
        "--seeds", type=int, default=1, help="number of seeds to run from --seed (default 1)"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--dry-run", action="store_true", help="run the detector in shadow mode (never enforces)"
    )
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    seeds = list(range(args.seed, args.seed + args.seeds))
    out: list[dict[str, Any]] = []
    blocks: list[str] = []
    for name in names:
        summary, results = run_many(name, seeds, dry_run=args.dry_run)
        if len(seeds) == 1:
            r = results[0]
            out.append(asdict(r))
            blocks.append(_text_single(r))
        else:
            out.append(asdict(summary))
            blocks.append(_text_summary(summary))
    if args.format == "json":
        json.dump({"seeds": seeds, "dry_run": args.dry_run, "scenarios": out}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print("costbreaker runtime detector: simulated traffic\n")
        print("\n\n".join(blocks))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
