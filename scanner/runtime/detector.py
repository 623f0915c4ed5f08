"""Streaming runaway detector: tell a runaway loop from viral demand within seconds.

Why this exists: billing data is hours late, and a loop can spend a month's budget in
that time. The detector reads the agent events of :mod:`costbreaker.runtime.events` as
they happen and, per execution cluster, answers one question per event: is this cluster
running away? The answer is a :class:`Decision` (ok, notify, throttle, trip) that carries
its evidence in words and numbers, because a breaker nobody can explain gets switched
off.

The hard part is the blind spot of the brief: a viral launch also looks like steep
growth, and tripping on it is a self-inflicted outage. So growth alone never trips.
The signals, combined in :meth:`Detector._check_growth_and_coupling` (its table lists
every rule and level):

``spend_cap_per_minute``, ``spend_cap_per_hour`` (and ``total_*`` across clusters)
    Absolute hard caps. Spend in the trailing minute; spend velocity over the last
    ``velocity_window_s`` projected to an hour (so a leak just above the hourly cap is
    caught in seconds, not after the hour); spend in the trailing hour. Crossing a cap
    always trips, viral or not: the cap is the budget the owner will not exceed.
``growth``
    Estimated doubling time of the call rate and of spend, over a short window
    (two 30 s halves) and a long one (two 5 min halves), with a significance test so
    that a handful of calls is not called a trend.
``demand_coupling``
    Model, tool and compute calls in the last minute against those that demand explains:
    the inbound requests, each weighted by the share of its session's calls that falls
    in the window, times the cluster's own calls per request (and at least its usual
    rate). The excess counts in two ways, a ratio and standard deviations of the
    cluster's own learnt noise (calls arrive in sessions, so far from Poisson). Viral
    traffic keeps the ratio; a loop or a fan-out breaks it.
``repetition``
    Within one agent session, the same call signature (or a cycle of up to four)
    repeating fast, model calls and tool calls watched apart. A loop repeats; users
    do not, and a job polled every ten seconds is not a loop.
``session_volume``
    One session making ten times the calls of an average request: a worker that does
    not stop, the shape of a recursive fan-out before its volume shows.

Growth that tracks demand is viral traffic and at most notifies. Growth decoupled from
demand (``decoupled_growth``), a far too busy session while calls are decoupled, strong
decoupling on its own, runaway repetition, or a hard cap trips. Above the signals sit: a
dry-run (shadow) mode that never returns an enforcing decision but still reports what it
would have done; planned windows from the configuration, inside which an announced
batch job is not an anomaly (caps and repetition still hold, with optional per-window
caps); a cool-down, so a cluster does not flap between levels; a trip that holds until
:meth:`Detector.reset`.

Baselines (calls per minute, inbound requests per minute, the noise) are exponentially
weighted over ``baseline_halflife_s`` and learn with a two-minute quarantine, from
minutes in which nothing looked suspicious: the first minute of a runaway, before it is
noticed, must not become normal. Before ``warmup_s`` of history, growth and coupling are
not judged; caps and repetition are.

Memory is bounded per cluster, whatever the event count: counts and spend live in two
fixed rings of time buckets (``bucket_s`` buckets over two minutes, one-minute buckets
over an hour), baselines are a few numbers, and the signature table keeps only the last
four signatures of each stream of at most ``max_sessions_per_cluster`` sessions (least
recently used evicted; a session that is repeating gets a second chance). The number of
clusters is capped too (``max_clusters``; idle ones go first, tripped ones stay).

Speed: ``observe`` is the hot path of a Lambda that may see a storm. An event costs a
dictionary lookup, a few additions and, for a call with a session, a comparison with
four signatures. Windows are evaluated only when a cluster crosses into a new bucket,
and quiet clusters skip the statistics. When nothing changes, ``observe`` returns the
cluster's current decision object itself (decisions are immutable), so the steady state
allocates nothing. Not thread-safe: one detector per thread (or a lock).
"""

from __future__ import annotations

import math
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from enum import IntEnum
from typing import Any, NamedTuple

from .events import INBOUND, MODEL_CALL, Event, format_time, parse_time


class Level(IntEnum):
    """Graded response, in increasing order of force."""

    OK = 0
    NOTIFY = 1
    THROTTLE = 2
    TRIP = 3

    @property
    def label(self) -> str:
        return self.name.lower()


OK, NOTIFY, THROTTLE, TRIP = Level.OK, Level.NOTIFY, Level.THROTTLE, Level.TRIP

SIGNAL_CAP_MINUTE = "spend_cap_per_minute"
SIGNAL_CAP_HOUR = "spend_cap_per_hour"
SIGNAL_TOTAL_CAP_MINUTE = "total_spend_cap_per_minute"
SIGNAL_TOTAL_CAP_HOUR = "total_spend_cap_per_hour"
SIGNAL_GROWTH = "growth"
SIGNAL_COUPLING = "demand_coupling"
SIGNAL_DECOUPLED_GROWTH = "decoupled_growth"
SIGNAL_REPETITION = "repetition"
SIGNAL_SESSION_VOLUME = "session_volume"
SIGNAL_COOLDOWN = "cooldown"
SIGNAL_RESET = "reset"

_QUARANTINE = 2  # minutes before a minute may be learnt as normal
_SUSPECT_Z = 2.5  # calls this many standard deviations above demand keep a minute unlearnt
_MINUTE = 60.0
_HOUR_MINUTES = 60


# -- configuration --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedWindow:
    """An announced period of extra load (a batch job, a load test, a launch).

    Inside it, growth and demand coupling are not anomalies for the named clusters
    (all clusters if ``clusters`` is empty); repetition and the hard caps still apply,
    with this window's own caps where given. The exemption lasts a short grace period
    after ``end`` so that the windows can drain the batch's traffic.
    """

    start: float  # seconds since the epoch, UTC
    end: float
    clusters: tuple[str, ...] = ()
    reason: str = "planned window"
    usd_per_minute: float | None = None
    usd_per_hour: float | None = None

    def __post_init__(self) -> None:
        if not self.end > self.start:
            raise ValueError(f"planned window {self.reason!r}: end must be after start")

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> PlannedWindow:
        """Build from configuration (``start``/``end`` as RFC 3339 strings or epoch seconds)."""

        def when(value: Any) -> float:
            return parse_time(value) if isinstance(value, str) else float(value)

        clusters = raw.get("clusters", ())
        if isinstance(clusters, str):
            clusters = (clusters,)
        return cls(
            start=when(raw["start"]),
            end=when(raw["end"]),
            clusters=tuple(clusters),
            reason=str(raw.get("reason", "planned window")),
            usd_per_minute=raw.get("usd_per_minute"),
            usd_per_hour=raw.get("usd_per_hour"),
        )

    def covers(self, cluster: str) -> bool:
        return not self.clusters or cluster in self.clusters


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Thresholds with defaults that work for a cluster of agents spending up to about a
    hundred dollars an hour. The caps are the numbers to set first: they are the only
    signals that trip on their own, viral or not, so put them above your legitimate peak.
    """

    # Hard caps, per cluster and across all clusters (USD). Crossing one always trips.
    usd_per_minute: float = 20.0
    usd_per_hour: float = 200.0
    total_usd_per_minute: float = 60.0
    total_usd_per_hour: float = 600.0
    # Spend velocity for the hourly caps is measured over this window, projected to 1 h.
    velocity_window_s: float = 30.0

    # Growth: doubling time of the call rate (and spend) at or below which growth is
    # reported (notify) and, when decoupled from demand, trips.
    growth_notify_doubling_s: float = 180.0
    growth_trip_doubling_s: float = 60.0
    growth_min_calls: int = 20  # calls in the recent half before growth is judged
    growth_z: float = 3.0  # Poisson standard deviations for a rise to count as growth
    growth_notify_z: float = 4.0  # ... and of the cluster's own noise to notify on its own

    # Demand coupling: calls in the last coupling_window_s against those explained by
    # inbound requests and by the cluster's usual rate. A request's calls are taken to
    # spread over session_s after it. A level needs both the ratio and the excess in
    # standard deviations (z) of this cluster's own learnt minute-to-minute noise.
    coupling_window_s: float = 60.0
    session_s: float = 20.0
    coupling_notify_ratio: float = 2.0
    coupling_notify_z: float = 3.0
    coupling_throttle_ratio: float = 3.0
    coupling_throttle_z: float = 4.5
    coupling_trip_ratio: float = 6.0
    coupling_trip_z: float = 7.0
    # With growth faster than growth_trip_doubling_s, decoupling trips at this ratio and z.
    decoupled_growth_ratio: float = 3.0
    decoupled_growth_z: float = 5.0

    # Session volume: a session making more calls than session_calls_factor times the
    # cluster's calls per request (and at least session_calls_floor) is busier than any
    # request needs: a worker that does not stop. Alone it notifies; while the cluster's
    # calls are decoupled from demand (the notify ratio and z) it trips.
    session_calls_factor: float = 10.0
    session_calls_floor: int = 50

    # Repetition within a session: a signature or a cycle of up to 4 repeated this many
    # times in a row, one call at most every repeat_max_interval_s on average.
    repeat_notify_cycles: int = 5
    repeat_throttle_cycles: int = 8
    repeat_trip_cycles: int = 12
    repeat_max_interval_s: float = 5.0

    # State.
    bucket_s: float = 5.0
    cooldown_s: float = 300.0
    warmup_s: float = 600.0  # history needed before growth and coupling are judged
    baseline_halflife_s: float = 1800.0
    max_sessions_per_cluster: int = 64
    max_clusters: int = 100_000
    dry_run: bool = False
    planned_windows: tuple[PlannedWindow, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        positive = (
            "usd_per_minute",
            "usd_per_hour",
            "total_usd_per_minute",
            "total_usd_per_hour",
            "velocity_window_s",
            "growth_notify_doubling_s",
            "growth_trip_doubling_s",
            "coupling_window_s",
            "repeat_max_interval_s",
            "bucket_s",
            "baseline_halflife_s",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"detector config: {name} must be positive")
        if _MINUTE % self.bucket_s:
            raise ValueError("detector config: bucket_s must divide 60 (e.g. 1, 5, 10, 15)")
        for name in ("velocity_window_s", "coupling_window_s", "session_s"):
            value = getattr(self, name)
            if value < 0 or value % self.bucket_s:
                raise ValueError(f"detector config: {name} must be a multiple of bucket_s")
        if not (
            1 < self.coupling_notify_ratio <= self.coupling_throttle_ratio
            and self.coupling_throttle_ratio <= self.coupling_trip_ratio
        ):
            raise ValueError("detector config: need 1 < coupling notify <= throttle <= trip ratio")
        if not (0 < self.coupling_notify_z <= self.coupling_throttle_z <= self.coupling_trip_z):
            raise ValueError("detector config: need 0 < coupling notify <= throttle <= trip z")
        if not (
            2 <= self.repeat_notify_cycles <= self.repeat_throttle_cycles <= self.repeat_trip_cycles
        ):
            raise ValueError("detector config: need 2 <= repeat notify <= throttle <= trip cycles")
        if self.growth_trip_doubling_s > self.growth_notify_doubling_s:
            raise ValueError("detector config: growth_trip_doubling_s above the notify one")
        if self.max_sessions_per_cluster < 1 or self.max_clusters < 1:
            raise ValueError("detector config: max_sessions_per_cluster and max_clusters >= 1")
        if self.cooldown_s < 0 or self.warmup_s < 0:
            raise ValueError("detector config: cooldown_s and warmup_s must not be negative")

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> DetectorConfig:
        """Build from a configuration mapping (e.g. the ``runtime`` section of the YAML
        file): unknown keys are an error that names them, ``planned_windows`` is a list of
        mappings as :meth:`PlannedWindow.from_mapping` reads them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"detector config: unknown keys {', '.join(unknown)}")
        values = dict(raw)
        if "planned_windows" in values:
            values["planned_windows"] = tuple(
                w if isinstance(w, PlannedWindow) else PlannedWindow.from_mapping(w)
                for w in values["planned_windows"]
            )
        return cls(**values)


# -- decisions ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """One signal's finding: which signal, how strong, the sentence and its numbers."""

    signal: str
    level: Level
    message: str
    window_s: float = 0.0
    values: dict[str, float | int | str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "signal": self.signal,
            "level": self.level.label,
            "message": self.message,
            "window_s": self.window_s,
            "values": dict(self.values),
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do about a cluster now, and why.

    ``level`` is what the caller should act on; ``assessed`` is what the detector
    concluded. They differ only in dry-run mode, where ``level`` never goes above notify.
    The first evidence is the reason; the others are context.
    """

    level: Level
    cluster: str
    time: float
    evidence: tuple[Evidence, ...] = ()
    assessed: Level = OK
    dry_run: bool = False

    @property
    def action(self) -> str:
        return self.level.label

    @property
    def enforcing(self) -> bool:
        """True if the caller should act on the cluster (throttle or trip)."""
        return self.level >= THROTTLE

    @property
    def signal(self) -> str:
        return self.evidence[0].signal if self.evidence else ""

    @property
    def message(self) -> str:
        return self.explain()

    def explain(self) -> str:
        """One paragraph a person reads at once: verdict, cluster, time, reason, numbers."""
        head = self.level.name
        if self.dry_run and self.assessed > self.level:
            head = f"{self.level.name} (dry-run: would {self.assessed.name})"
        text = f"{head}: cluster {self.cluster!r} at {format_time(self.time)}"
        if not self.evidence:
            return text + ": no anomaly."
        first, *rest = self.evidence
        text += f": {first.signal.replace('_', ' ')}: {first.message}"
        if rest:
            text += " Also: " + " ".join(
                f"[{e.signal.replace('_', ' ')}] {e.message}" for e in rest
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level.label,
            "assessed": self.assessed.label,
            "cluster": self.cluster,
            "time": format_time(self.time),
            "dry_run": self.dry_run,
            "explanation": self.explain(),
            "evidence": [e.to_dict() for e in self.evidence],
        }


# -- formatting helpers ---------------------------------------------------------------------------


def _usd(amount: float) -> str:
    if amount >= 100:
        return f"${amount:,.0f}"
    if amount >= 1:
        return f"${amount:,.2f}"
    return f"${amount:.4f}"


def _secs(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _doubling(recent: float, previous: float, half_s: float, floor: float = 0.5) -> float:
    """Doubling time (s) implied by going from ``previous`` to ``recent`` in ``half_s``.

    ``previous`` is floored (half a call for counts) so that growth from nothing is fast
    but finite."""
    previous = max(previous, floor)
    if recent <= previous:
        return math.inf
    return half_s * math.log(2) / math.log(recent / previous)


class _Growth(NamedTuple):
    doubling_s: float
    series: str  # "calls" or "spend"
    now: float
    before: float
    in_now: float
    in_before: float
    half_s: float
    calls_now: float
    notable: bool  # significant against the cluster's own noise, not just Poisson's


class _Coupling(NamedTuple):
    calls: float
    inbound: float  # weighted: the requests whose calls the window should hold
    expected: float
    ratio: float
    z: float
    window_s: float


def _growth_text(g: _Growth) -> str:
    fmt = _usd if g.series == "spend" else (lambda x: f"{x:.0f} calls")
    return (
        f"{g.series} doubling every {_secs(g.doubling_s)} ({_secs(g.half_s)} windows: "
        f"{fmt(g.before)} → {fmt(g.now)}); inbound requests {g.in_before:.0f} → {g.in_now:.0f}."
    )


def _growth_values(g: _Growth) -> dict[str, float | int | str]:
    return {
        "series": g.series,
        "doubling_s": round(g.doubling_s, 1),
        "before": round(g.before, 4),
        "now": round(g.now, 4),
        "inbound_before": g.in_before,
        "inbound_now": g.in_now,
    }


def _coupling_text(cl: _Cluster, c: _Coupling) -> str:
    return (
        f"{c.calls:.0f} model/tool/compute calls in the last {_secs(c.window_s)} for "
        f"{c.inbound:.1f} inbound requests, where demand and this cluster's usual rate "
        f"explain {c.expected:.0f} (baseline {cl.r0:.1f} calls per request, "
        f"{cl.mu_calls:.0f} calls/min): ×{c.ratio:.1f}, {c.z:.1f} standard deviations above."
    )


def _coupling_values(cl: _Cluster, c: _Coupling) -> dict[str, float | int | str]:
    return {
        "calls": c.calls,
        "inbound": round(c.inbound, 2),
        "expected_calls": round(c.expected, 2),
        "ratio": round(c.ratio, 3),
        "z": round(c.z, 2),
        "baseline_calls_per_request": round(cl.r0, 3),
        "baseline_calls_per_minute": round(cl.mu_calls, 3),
        "baseline_noise": round(cl.phi, 3),
    }


# -- per-cluster state ----------------------------------------------------------------------------


class _Stream:
    """The last four signatures of one stream of calls and the current repeat runs.

    ``rN`` counts consecutive calls equal to the call N positions earlier; a cycle of N
    calls repeated k times gives ``rN == N * (k - 1)``. ``sN`` is when that run began.
    """

    __slots__ = (
        *("h1", "h2", "h3", "h4"),
        *("r1", "r2", "r3", "r4"),
        *("s1", "s2", "s3", "s4"),
        "last_t",
        "reported",
    )

    def __init__(self, t: float) -> None:
        self.h1 = self.h2 = self.h3 = self.h4 = ""
        self.r1 = self.r2 = self.r3 = self.r4 = 0
        self.s1 = self.s2 = self.s3 = self.s4 = t
        self.last_t = t
        self.reported = 0


class _Session:
    """A session's two streams: model calls, and tool calls with compute launches.

    Kept apart so that a tool called again and again with the same arguments is seen
    even when the model turns between the calls differ (their input carries a counter or
    a timestamp), and the other way round.
    """

    __slots__ = ("model", "tools", "calls", "first_t")

    def __init__(self, t: float) -> None:
        self.model: _Stream | None = None
        self.tools: _Stream | None = None
        self.calls = 0
        self.first_t = t

    def repeating(self) -> bool:
        return any(
            s is not None and (s.r1 or s.r2 or s.r3 or s.r4) for s in (self.model, self.tools)
        )


class _Cluster:
    __slots__ = (
        "name",
        "first_t",
        "bucket",
        "c_calls",
        "c_in",
        "c_spend",
        "r_calls",
        "r_in",
        "r_spend",
        "m_calls",
        "m_in",
        "m_spend",
        "mr_calls",
        "mr_in",
        "mr_spend",
        "mr_demand",
        "dirty_t",
        "hour_prev",
        "judge_min",
        "warm",
        "minutes_seen",
        "spend_prev",
        "cap_min",
        "cap_hour",
        "plan",
        "plan_grace",
        "mu_calls",
        "mu_in",
        "phi",
        "base_n",
        "r0",
        "suspect",
        "session_limit",
        "big",
        "big_sid",
        "big_t",
        "level",
        "hold_until",
        "tripped_at",
        "decision",
        "context",
        "sessions",
        "last_session",
        "total_epoch",
    )

    def __init__(self, name: str, t: float, bucket: int, n_short: int, ok: Decision) -> None:
        self.name = name
        self.first_t = t
        self.bucket = bucket
        self.c_calls = 0
        self.c_in = 0
        self.c_spend = 0.0
        self.r_calls = array("d", bytes(8 * n_short))
        self.r_in = array("d", bytes(8 * n_short))
        self.r_spend = array("d", bytes(8 * n_short))
        self.m_calls = 0.0
        self.m_in = 0.0
        self.m_spend = 0.0
        # the hour of minutes in single precision: half the memory, and seven significant
        # digits are plenty for per-minute counts and dollars
        self.mr_calls = array("f", bytes(4 * _HOUR_MINUTES))
        self.mr_in = array("f", bytes(4 * _HOUR_MINUTES))
        self.mr_spend = array("f", bytes(4 * _HOUR_MINUTES))
        self.mr_demand = array("f", bytes(4 * _HOUR_MINUTES))  # weighted inbound, per minute
        self.dirty_t = -math.inf  # last time anything looked suspicious (or planned)
        self.hour_prev = 0.0  # spend of the 59 complete minutes before the current one
        self.judge_min = 0.0  # fewer calls than this in the coupling window: nothing to judge
        self.warm = False  # baselines learnt: growth and coupling are judged
        self.minutes_seen = 0
        self.spend_prev = 0.0
        self.cap_min = 0.0
        self.cap_hour = 0.0
        self.plan: PlannedWindow | None = None
        self.plan_grace = False
        self.mu_calls = 0.0  # baseline calls per minute
        self.mu_in = 0.0  # baseline inbound requests per minute
        self.phi = 1.0  # baseline noise: squared error / expected calls, per minute
        self.base_n = 0  # minutes learnt
        self.r0 = 0.0  # mu_calls / mu_in: calls per inbound request
        self.suspect = False  # calls well above what demand explains at the last look
        self.session_limit = math.inf  # calls per session beyond which a session is "big"
        self.big: _Session | None = None  # the last session seen beyond that
        self.big_sid = ""
        self.big_t = -math.inf
        self.level = OK
        self.hold_until = 0.0
        self.tripped_at: float | None = None
        self.decision = ok
        self.context: tuple[Evidence, ...] = ()
        self.sessions: OrderedDict[str, _Session] = OrderedDict()
        self.last_session: _Session | None = None
        self.total_epoch = -1


# -- the detector ---------------------------------------------------------------------------------


class Detector:
    """Per-cluster streaming detector. Not thread-safe: use one per thread or a lock."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        cfg = config or DetectorConfig()
        self.config = cfg
        self._bs = cfg.bucket_s
        self._inv_bs = 1.0 / cfg.bucket_s
        self._bpm = int(_MINUTE / cfg.bucket_s)  # buckets per minute
        self._w_vel = int(cfg.velocity_window_s / cfg.bucket_s)
        self._per_hour = 3600.0 / cfg.velocity_window_s
        self._vel_in_minute = self._w_vel < self._bpm  # spend_prev bounds the velocity sum
        self._w_cpl = int(cfg.coupling_window_s / cfg.bucket_s)
        self._w_lag = int(cfg.session_s / cfg.bucket_s)
        self._demand_weights = self._weights(cfg.coupling_window_s, cfg.session_s, cfg.bucket_s)
        self._minute_weights = self._weights(_MINUTE, cfg.session_s, cfg.bucket_s)
        self._w_half = max(1, int(30.0 / cfg.bucket_s))  # short growth: two 30 s halves
        self._n_short = 1 + max(
            self._w_cpl + self._w_lag, self._bpm + self._w_lag, 2 * self._w_half, self._w_vel
        )
        self._alpha = 1.0 - 0.5 ** (_MINUTE / cfg.baseline_halflife_s)
        self._warm_minutes = max(1, int(cfg.warmup_s // _MINUTE))
        # repetition thresholds, as run lengths per cycle length
        self._rep_runs = tuple(p * (cfg.repeat_notify_cycles - 1) for p in range(1, 5))
        self._clusters: dict[str, _Cluster] = {}
        # total (all clusters) spend: one ring of buckets and one of minutes
        self._g_bucket = -1
        self._g_cur = 0.0
        self._g_ring = array("d", bytes(8 * self._n_short))
        self._g_min = -1
        self._g_min_cur = 0.0
        self._g_minutes = array("d", bytes(8 * _HOUR_MINUTES))
        self._g_prev = 0.0
        self._total_epoch = 0
        self._total_trip: Evidence | None = None

    @staticmethod
    def _weights(window_s: float, session_s: float, bucket_s: float) -> tuple[float, ...]:
        """Share of a request's calls that fall in the window, by the request's bucket.

        A request ``a`` seconds old has made ``min(a, D)/D`` of its calls (spread evenly
        over a session of ``D`` seconds); those inside the window ``[0, W]`` of age are
        ``(min(a, W) - max(a - D, 0)) / D``. Evaluated at each bucket's middle age; the
        weights add up to ``W`` seconds, one window's worth of requests in steady state.
        """
        d = max(session_s, 1e-9)
        n = int((window_s + session_s) / bucket_s)
        out = []
        for k in range(1, n + 1):
            a = (k - 0.5) * bucket_s
            out.append(max(0.0, min(a, window_s) - max(a - d, 0.0)) / d)
        return tuple(out)

    def _demand(self, cl: _Cluster, b: int, weights: tuple[float, ...]) -> float:
        """Inbound requests whose calls the window ending before bucket ``b`` holds."""
        ring = cl.r_in
        n = self._n_short
        total = 0.0
        k = 1
        for weight in weights:
            total += weight * ring[(b - k) % n]
            k += 1
        return total

    # -- public API ---------------------------------------------------------------------

    def observe(self, event: Event) -> Decision:
        """Account for one event and return the cluster's decision (shared, immutable)."""
        cl = self._clusters.get(event.cluster)
        t = event.time
        b = int(t * self._inv_bs)
        if cl is None:
            cl = self._add_cluster(event.cluster, t, b)
        elif b > cl.bucket:
            self._roll(cl, b, t)
        if cl.total_epoch != self._total_epoch:
            self._sync_total(cl, t)

        if event.kind == INBOUND:
            cl.c_in += 1
            return cl.decision

        cl.c_calls += 1
        cost = event.cost_usd
        if cost:
            spend = cl.c_spend + cost
            cl.c_spend = spend
            if spend + cl.spend_prev > cl.cap_min:
                self._minute_cap(cl, t)
            if b != self._g_bucket:
                self._roll_total(b)
            self._g_cur += cost
            if self._g_cur + self._g_prev > self.config.total_usd_per_minute:
                self._total_minute_cap()

        sig = event.signature
        sid = event.session
        if not sig or not sid:
            return cl.decision
        sessions = cl.sessions
        ss = sessions.get(sid)
        if ss is None:
            ss = _Session(t)
            sessions[sid] = ss
            if len(sessions) > self.config.max_sessions_per_cluster:
                self._evict_session(sessions)
        elif ss is not cl.last_session:
            sessions.move_to_end(sid)
        cl.last_session = ss
        ss.calls = n = ss.calls + 1
        if n > cl.session_limit:  # a session far busier than any request needs
            cl.big = ss
            cl.big_sid = sid
            cl.big_t = t
        if event.kind == MODEL_CALL:
            s = ss.model
            if s is None:
                s = ss.model = _Stream(t)
        else:
            s = ss.tools
            if s is None:
                s = ss.tools = _Stream(t)

        # Repeat runs for cycles of 1..4 calls, unrolled: this is the hot path.
        th1, th2, th3, th4 = self._rep_runs
        hit = 0
        if sig == s.h1:
            r = s.r1
            if not r:
                s.s1 = s.last_t
            s.r1 = r = r + 1
            if r >= th1:
                hit = 1
        elif s.r1:
            s.r1 = 0
        if sig == s.h2:
            r = s.r2
            if not r:
                s.s2 = s.last_t
            s.r2 = r = r + 1
            if r >= th2 and not hit:
                hit = 2
        elif s.r2:
            s.r2 = 0
        if sig == s.h3:
            r = s.r3
            if not r:
                s.s3 = s.last_t
            s.r3 = r = r + 1
            if r >= th3 and not hit:
                hit = 3
        elif s.r3:
            s.r3 = 0
        if sig == s.h4:
            r = s.r4
            if not r:
                s.s4 = s.last_t
            s.r4 = r = r + 1
            if r >= th4 and not hit:
                hit = 4
        elif s.r4:
            s.r4 = 0
        s.h4 = s.h3
        s.h3 = s.h2
        s.h2 = s.h1
        s.h1 = sig
        s.last_t = t
        if hit and s.reported < TRIP:
            self._repetition(cl, sid, s, hit, t, event.kind)
        return cl.decision

    def decision(self, cluster: str) -> Decision:
        """The current decision for ``cluster`` (ok if it was never seen)."""
        cl = self._clusters.get(cluster)
        if cl is None:
            return Decision(OK, cluster, 0.0, dry_run=self.config.dry_run)
        return cl.decision

    def reset(self, cluster: str, *, keep_baseline: bool = True, now: float | None = None) -> None:
        """Forget a cluster's trip and its recent windows (the one-command reset).

        Learnt baselines are kept unless ``keep_baseline`` is False: they describe the
        cluster's normal traffic, which the runaway did not teach (suspicious minutes are
        never learnt). Recent windows are cleared so that the spend that caused the trip
        does not trip the cluster again once its bug is fixed.
        """
        cl = self._clusters.get(cluster)
        if cl is None:
            return
        when = cl.bucket * self._bs if now is None else now
        fresh = self._new_cluster(cluster, when, cl.bucket)
        if keep_baseline:
            fresh.first_t = cl.first_t
            fresh.mu_calls, fresh.mu_in, fresh.phi = cl.mu_calls, cl.mu_in, cl.phi
            fresh.base_n, fresh.r0 = cl.base_n, cl.r0
        note = Evidence(SIGNAL_RESET, OK, "state reset by an operator; watching afresh.")
        fresh.decision = self._decision(fresh, OK, (note,), when)
        fresh.total_epoch = self._total_epoch
        self._clusters[cluster] = fresh

    def reset_total(self) -> None:
        """Clear a trip of the all-cluster caps (each cluster keeps its own state)."""
        self._total_trip = None
        self._g_ring = array("d", bytes(8 * self._n_short))
        self._g_minutes = array("d", bytes(8 * _HOUR_MINUTES))
        self._g_cur = self._g_min_cur = self._g_prev = 0.0
        self._total_epoch += 1

    @property
    def clusters(self) -> list[str]:
        return list(self._clusters)

    def footprint(self, cluster: str) -> dict[str, int]:
        """Sizes of a cluster's bounded structures (for tests and capacity planning)."""
        cl = self._clusters[cluster]
        return {
            "sessions": len(cl.sessions),
            "short_buckets": len(cl.r_calls),
            "minute_buckets": len(cl.mr_calls),
        }

    # -- clusters ---------------------------------------------------------------------------------

    def _new_cluster(self, name: str, t: float, b: int) -> _Cluster:
        ok = Decision(OK, name, t, assessed=OK, dry_run=self.config.dry_run)
        cl = _Cluster(name, t, b, self._n_short, ok)
        self._apply_plan(cl, t)
        self._set_thresholds(cl)
        return cl

    def _add_cluster(self, name: str, t: float, b: int) -> _Cluster:
        if len(self._clusters) >= self.config.max_clusters:
            self._evict_clusters()
        cl = self._new_cluster(name, t, b)
        self._clusters[name] = cl
        return cl

    def _evict_clusters(self) -> None:
        """Drop the least recently active tenth of the clusters, keeping tripped ones."""
        idle = sorted((cl.bucket, name) for name, cl in self._clusters.items() if cl.level < TRIP)
        for _, name in idle[: max(1, len(self._clusters) // 10)]:
            del self._clusters[name]

    @staticmethod
    def _evict_session(sessions: OrderedDict[str, _Session]) -> None:
        """Evict the least recently used session, sparing up to three that are repeating."""
        for _ in range(3):
            sid, ss = sessions.popitem(last=False)
            if not ss.repeating():
                return
            sessions[sid] = ss  # second chance: back to the most recent end
        sessions.popitem(last=False)

    def _apply_plan(self, cl: _Cluster, t: float) -> None:
        cfg = self.config
        plan: PlannedWindow | None = None
        grace = False
        if cfg.planned_windows:
            drain = self._n_short * self._bs
            for w in cfg.planned_windows:
                if w.covers(cl.name) and w.start <= t < w.end + drain:
                    in_window = t < w.end
                    if plan is None or (in_window and grace):
                        plan, grace = w, not in_window
        changed = plan is not cl.plan
        cl.plan = plan
        cl.plan_grace = grace
        if changed:
            self._set_thresholds(cl)
        in_window = plan is not None and not grace
        cl.cap_min = cfg.usd_per_minute
        cl.cap_hour = cfg.usd_per_hour
        if in_window and plan is not None:
            if plan.usd_per_minute is not None:
                cl.cap_min = plan.usd_per_minute
            if plan.usd_per_hour is not None:
                cl.cap_hour = plan.usd_per_hour

    # -- windows ----------------------------------------------------------------------------------

    def _roll(self, cl: _Cluster, b: int, t: float) -> None:
        """Close the current bucket, open bucket ``b``, then evaluate the windows."""
        n = self._n_short
        old = cl.bucket
        i = old % n
        cl.r_calls[i] = cl.c_calls
        cl.r_in[i] = cl.c_in
        cl.r_spend[i] = cl.c_spend
        cl.m_calls += cl.c_calls
        cl.m_in += cl.c_in
        cl.m_spend += cl.c_spend
        cl.c_calls = cl.c_in = 0
        cl.c_spend = 0.0
        if b - old > 1:
            for k in range(old + 1, min(b, old + n + 1)):
                j = k % n
                cl.r_calls[j] = cl.r_in[j] = cl.r_spend[j] = 0.0
        bpm = self._bpm
        if b // bpm != old // bpm:
            self._close_minutes(cl, old // bpm, b // bpm, b)
        cl.bucket = b
        # spend of the completed buckets that, with the current one, make the last minute
        cl.spend_prev = self._window(cl.r_spend, b, 1, self._bpm - 1)
        if self.config.planned_windows or cl.plan is not None:
            self._apply_plan(cl, t)
        if cl.level < TRIP:
            self._evaluate(cl, b, t)

    def _close_minutes(self, cl: _Cluster, old_minute: int, new_minute: int, b: int) -> None:
        """Store the minute that ended and learn from the one that ended two minutes ago.

        Baselines learn with a delay of ``_QUARANTINE`` minutes, and only from minutes in
        which nothing looked suspicious since they began: an anomaly is usually noticed
        a little after it starts, and its first minute must not become "normal".
        """
        i = old_minute % _HOUR_MINUTES
        cl.mr_calls[i] = cl.m_calls
        cl.mr_in[i] = cl.m_in
        cl.mr_spend[i] = cl.m_spend
        cl.mr_demand[i] = self._demand(cl, b, self._minute_weights)
        skipped = min(new_minute - old_minute - 1, _HOUR_MINUTES)
        for k in range(1, skipped + 1):
            j = (old_minute + k) % _HOUR_MINUTES
            cl.mr_calls[j] = cl.mr_in[j] = cl.mr_spend[j] = cl.mr_demand[j] = 0.0
        cl.minutes_seen += 1 + skipped
        cl.m_calls = cl.m_in = cl.m_spend = 0.0
        spend = cl.mr_spend
        hour = 0.0
        for k in range(1, _HOUR_MINUTES):
            hour += spend[(new_minute - k) % _HOUR_MINUTES]
        cl.hour_prev = hour
        if cl.level >= THROTTLE:  # nothing from an incident is ever learnt
            cl.dirty_t = b * self._bs
        first = max(old_minute - _QUARANTINE, new_minute - _QUARANTINE - self._warm_minutes)
        for m in range(first, new_minute - _QUARANTINE):
            start = m * _MINUTE
            if start < cl.first_t or cl.dirty_t >= start:
                continue  # partial first minute, or something suspicious since
            j = m % _HOUR_MINUTES
            self._learn(cl, cl.mr_calls[j], cl.mr_in[j], cl.mr_demand[j])

    def _learn(self, cl: _Cluster, calls: float, inbound: float, demand: float) -> None:
        """Update the baselines from one minute (bias-corrected EWMA).

        The noise ``phi`` is the squared error of the calls against what the baseline
        expected for that minute's ``demand`` (weighted inbound requests, as the coupling
        window counts them), over the expected count: 1 for a Poisson stream, more when
        calls come in sessions of several. After warm-up, a minute more than four
        standard deviations above expectation is not learnt either.
        """
        n = cl.base_n + 1
        if n > 3:  # once the means are roughly known, learn the noise around them
            expected = max(cl.r0 * demand, cl.mu_calls, 1.0)
            error = (calls - expected) ** 2 / expected
            if n > self._warm_minutes and calls > expected and error > 16.0 * cl.phi:
                return
            cl.phi = max(1.0, cl.phi + (error - cl.phi) * max(self._alpha, 1.0 / (n - 3)))
        cl.base_n = n
        a = max(self._alpha, 1.0 / n)
        cl.mu_calls += (calls - cl.mu_calls) * a
        cl.mu_in += (inbound - cl.mu_in) * a
        cl.r0 = cl.mu_calls / cl.mu_in if cl.mu_in > 1e-3 else 0.0
        self._set_thresholds(cl)

    def _set_thresholds(self, cl: _Cluster) -> None:
        """Thresholds that follow the baselines, computed when they change, not per roll.

        ``judge_min``: below this many calls in the coupling window no growth or coupling
        evidence is possible (too few calls for growth, too few above the cluster's floor
        for even a suspicion), so quiet clusters skip that evaluation, most of a roll's
        cost. ``session_limit``: calls beyond which a session is busier than any request.
        """
        cfg = self.config
        floor = max(cl.mu_calls * cfg.coupling_window_s / _MINUTE, 1.0)
        cl.judge_min = min(
            float(cfg.growth_min_calls), floor + _SUSPECT_Z * math.sqrt(cl.phi * floor)
        )
        cl.session_limit = (
            max(cfg.session_calls_floor, cfg.session_calls_factor * cl.r0)
            if cl.warm and cl.plan is None
            else math.inf
        )

    def _window(self, ring: array, b: int, first: int, last: int) -> float:
        """Sum of completed buckets ``b-last .. b-first`` (1 = the one just closed)."""
        n = self._n_short
        start = (b - last) % n
        end = start + last - first + 1
        if end <= n:
            return sum(ring[start:end])
        return sum(ring[start:]) + sum(ring[: end - n])

    # -- evaluation -------------------------------------------------------------------------------

    def _evaluate(self, cl: _Cluster, b: int, t: float) -> None:
        cfg = self.config
        found: list[Evidence] = []
        # the velocity window lies inside the last minute: skip it when that cannot reach it
        velocity = 0.0
        if not self._vel_in_minute or cl.spend_prev * self._per_hour > cl.cap_hour:
            velocity = self._window(cl.r_spend, b, 1, self._w_vel) * self._per_hour
        hour = cl.hour_prev + cl.m_spend
        if velocity > cl.cap_hour or hour > cl.cap_hour:
            note = f" (planned window {cl.plan.reason!r})" if cl.plan and not cl.plan_grace else ""
            found.append(
                self._hour_cap_evidence(SIGNAL_CAP_HOUR, velocity, hour, cl.cap_hour, note=note)
            )
        exempt = cl.plan is not None
        if not cl.warm and t - cl.first_t >= cfg.warmup_s and cl.base_n >= self._warm_minutes:
            cl.warm = True
            self._set_thresholds(cl)
        cl.suspect = False
        if cl.warm and not exempt:
            self._check_growth_and_coupling(cl, b, found)
        level = OK
        if found:
            found.sort(key=lambda e: -e.level)
            level = found[0].level
        if exempt or cl.suspect or level >= THROTTLE or cl.level >= THROTTLE:
            cl.dirty_t = t
        cl.context = tuple(found)
        if level > cl.level:
            self._escalate(cl, level, cl.context, t)
        elif level == cl.level and level > OK:
            cl.hold_until = t + cfg.cooldown_s
        elif level < cl.level and t >= cl.hold_until:
            note = Evidence(
                SIGNAL_COOLDOWN,
                level,
                f"nothing above {level.label} for {_secs(cfg.cooldown_s)}; "
                f"stepping down from {cl.level.label}.",
                cfg.cooldown_s,
            )
            cl.level = level
            cl.hold_until = t + cfg.cooldown_s
            cl.decision = self._decision(cl, level, (*cl.context, note), t)

    def _hour_cap_evidence(
        self, signal: str, velocity: float, hour: float, cap: float, who: str = "", note: str = ""
    ) -> Evidence:
        """Evidence that spend velocity (preferred, it is the earlier sign) or the spend of
        the last hour is above an hourly cap."""
        window = self.config.velocity_window_s
        if velocity > cap:
            return Evidence(
                signal,
                TRIP,
                f"{who}spend velocity {_usd(velocity)}/h over the last {_secs(window)} is above "
                f"the hourly cap of {_usd(cap)}/h{note}.",
                window,
                {"velocity_usd_per_hour": round(velocity, 4), "cap_usd_per_hour": cap},
            )
        return Evidence(
            signal,
            TRIP,
            f"{who}spent {_usd(hour)} in the last hour, above the hourly cap of {_usd(cap)}{note}.",
            3600.0,
            {"spend_usd": round(hour, 4), "cap_usd_per_hour": cap},
        )

    def _growth(self, cl: _Cluster, b: int) -> _Growth | None:
        """The fastest significant rise among calls and spend, short and long window."""
        cfg = self.config
        win = self._window
        h = self._w_half
        half_s = h * self._bs
        best: _Growth | None = None
        calls_now = win(cl.r_calls, b, 1, h)
        calls_before = win(cl.r_calls, b, h + 1, 2 * h)
        if calls_now >= cfg.growth_min_calls and calls_now - calls_before >= cfg.growth_z * (
            math.sqrt(calls_now + calls_before)
        ):
            notable = calls_now - calls_before >= cfg.growth_notify_z * math.sqrt(
                cl.phi * (calls_now + calls_before)
            )
            in_now = win(cl.r_in, b, 1, h)
            in_before = win(cl.r_in, b, h + 1, 2 * h)
            best = _Growth(
                _doubling(calls_now, calls_before, half_s),
                "calls",
                calls_now,
                calls_before,
                in_now,
                in_before,
                half_s,
                calls_now,
                notable,
            )
            spend_now = win(cl.r_spend, b, 1, h)
            spend_before = win(cl.r_spend, b, h + 1, 2 * h)
            if spend_before > 0:
                d_spend = _doubling(spend_now, spend_before, half_s, 1e-9)
                if d_spend < best.doubling_s:
                    best = best._replace(
                        doubling_s=d_spend, series="spend", now=spend_now, before=spend_before
                    )
        if cl.minutes_seen >= 10:  # long window: last 5 min against the 5 min before
            minute = b // self._bpm
            mc, mi = cl.mr_calls, cl.mr_in
            now = sum(mc[(minute - k) % _HOUR_MINUTES] for k in range(1, 6))
            before = sum(mc[(minute - k) % _HOUR_MINUTES] for k in range(6, 11))
            rise = now - before
            if now >= cfg.growth_min_calls and rise >= cfg.growth_z * math.sqrt(now + before):
                d_long = _doubling(now, before, 300.0)
                if best is None or d_long < best.doubling_s:
                    best = _Growth(
                        d_long,
                        "calls",
                        now,
                        before,
                        sum(mi[(minute - k) % _HOUR_MINUTES] for k in range(1, 6)),
                        sum(mi[(minute - k) % _HOUR_MINUTES] for k in range(6, 11)),
                        300.0,
                        now,
                        rise >= cfg.growth_notify_z * math.sqrt(cl.phi * (now + before)),
                    )
        return best

    def _coupling(self, cl: _Cluster, b: int, calls: float) -> _Coupling:
        """``calls`` in the coupling window against what demand and habit explain."""
        window_s = self._w_cpl * self._bs
        inbound = self._demand(cl, b, self._demand_weights)
        expected = max(cl.r0 * inbound, cl.mu_calls * window_s / _MINUTE, 1.0)
        z = (calls - expected) / math.sqrt(cl.phi * expected)
        return _Coupling(calls, inbound, expected, calls / expected, z, window_s)

    def _check_growth_and_coupling(self, cl: _Cluster, b: int, found: list[Evidence]) -> None:
        """Judge growth, demand coupling and session volume together (warm clusters only).

        ==========================================  ========  ====================
        what is seen                                level     signal
        ==========================================  ========  ====================
        growth that demand explains (viral)         notify    growth
        calls ×2 above demand, 3 sd                 notify    demand_coupling
        calls ×3 above demand, 4.5 sd               throttle  demand_coupling
        calls ×6 above demand, 7 sd                 trip      demand_coupling
        ×3 decoupled, 5 sd, doubling <= 60 s        trip      decoupled_growth
        a session far too busy, ×2/3 sd decoupled   trip      session_volume
        a session far too busy                      notify    session_volume
        ==========================================  ========  ====================

        (sd: standard deviations of the cluster's own learnt noise; the numbers are the
        defaults, each a field of :class:`DetectorConfig`.)
        """
        cfg = self.config
        quiet = cl.big_t < (b - self._w_cpl) * self._bs
        # this minute so far and the one before hold the coupling window: a cheap bound
        if (
            quiet
            and self._w_cpl <= self._bpm
            and cl.m_calls + cl.mr_calls[(b // self._bpm - 1) % _HOUR_MINUTES] < cl.judge_min
        ):
            return
        calls = self._window(cl.r_calls, b, 1, self._w_cpl)
        if quiet and calls < cl.judge_min:
            return  # a quiet cluster: nothing here can notify or raise a suspicion
        c = self._coupling(cl, b, calls)
        level = OK
        if c.ratio >= cfg.coupling_trip_ratio and c.z >= cfg.coupling_trip_z:
            level = TRIP
        elif c.ratio >= cfg.coupling_throttle_ratio and c.z >= cfg.coupling_throttle_z:
            level = THROTTLE
        elif c.ratio >= cfg.coupling_notify_ratio and c.z >= cfg.coupling_notify_z:
            level = NOTIFY
        g = self._growth(cl, b)
        big = self._big_session(cl, b * self._bs, c.window_s)
        cl.suspect = c.z >= _SUSPECT_Z or big is not None

        fast = g is not None and g.doubling_s <= cfg.growth_trip_doubling_s
        if fast and c.ratio >= cfg.decoupled_growth_ratio and c.z >= cfg.decoupled_growth_z:
            assert g is not None
            found.append(
                Evidence(
                    SIGNAL_DECOUPLED_GROWTH,
                    TRIP,
                    f"{_growth_text(g)} Demand does not explain it: {_coupling_text(cl, c)} "
                    f"(trips at ×{cfg.decoupled_growth_ratio:g} and {cfg.decoupled_growth_z:g} "
                    f"standard deviations with doubling ≤ {_secs(cfg.growth_trip_doubling_s)}).",
                    2 * g.half_s,
                    {**_growth_values(g), **_coupling_values(cl, c)},
                )
            )
            if big is not None:
                found.append(Evidence(SIGNAL_SESSION_VOLUME, NOTIFY, big[0], c.window_s, big[1]))
            return
        if big is not None:
            text, values = big
            if level:
                found.append(
                    Evidence(
                        SIGNAL_SESSION_VOLUME,
                        TRIP,
                        f"{text} Demand does not explain the cluster's calls either: "
                        f"{_coupling_text(cl, c)} (a session this busy trips once calls are "
                        f"×{cfg.coupling_notify_ratio:g} and {cfg.coupling_notify_z:g} standard "
                        f"deviations above demand).",
                        c.window_s,
                        {**values, **_coupling_values(cl, c)},
                    )
                )
                return
            found.append(Evidence(SIGNAL_SESSION_VOLUME, NOTIFY, text, c.window_s, values))
        if level:
            found.append(
                Evidence(
                    SIGNAL_COUPLING,
                    level,
                    _coupling_text(cl, c),
                    c.window_s,
                    _coupling_values(cl, c),
                )
            )
        # growth worth a notification on its own: against the cluster's own noise, and to
        # at least twice its usual level (a busy half-minute after a quiet one is not growth)
        if (
            g is not None
            and g.notable
            and g.doubling_s <= cfg.growth_notify_doubling_s
            and g.calls_now >= 2.0 * cl.mu_calls * g.half_s / _MINUTE
        ):
            tracks = "Partly decoupled from demand" if level else "Growth tracks demand"
            found.append(
                Evidence(
                    SIGNAL_GROWTH,
                    NOTIFY,
                    f"{_growth_text(g)} {tracks}: calls ×{c.ratio:.1f} of what demand explains; "
                    f"not a runaway on its own.",
                    2 * g.half_s,
                    _growth_values(g),
                )
            )

    def _big_session(
        self, cl: _Cluster, t: float, window_s: float
    ) -> tuple[str, dict[str, float | int | str]] | None:
        """The session that went beyond the per-session limit in the last window, if any."""
        ss = cl.big
        if ss is None or cl.big_t < t - window_s:
            return None
        age = max(cl.big_t - ss.first_t, 0.0)
        text = (
            f"session {cl.big_sid!r} has made {ss.calls} calls in {age:.0f} s, more than the "
            f"{cl.session_limit:.0f} any request here needs "
            f"({self.config.session_calls_factor:g}× {cl.r0:.1f} calls per request)."
        )
        values: dict[str, float | int | str] = {
            "session": cl.big_sid,
            "session_calls": ss.calls,
            "age_s": round(age, 1),
            "limit": round(cl.session_limit, 1),
        }
        return text, values

    # -- per-event signals ------------------------------------------------------------------------

    def _repetition(
        self, cl: _Cluster, sid: str, s: _Stream, period: int, t: float, kind: str
    ) -> None:
        cfg = self.config
        run = (s.r1, s.r2, s.r3, s.r4)[period - 1]
        start = (s.s1, s.s2, s.s3, s.s4)[period - 1]
        cycles = run // period + 1
        span = max(t - start, 0.0)  # from the call before the first repeat to now
        interval = span / max(run, 1)
        if interval > cfg.repeat_max_interval_s:
            return  # slow repetition (polling) is ordinary
        if cycles >= cfg.repeat_trip_cycles:
            level = TRIP
        elif cycles >= cfg.repeat_throttle_cycles:
            level = THROTTLE
        elif cycles >= cfg.repeat_notify_cycles:
            level = NOTIFY
        else:
            return
        if level > s.reported:
            s.reported = level
        if level < cl.level:
            return
        cl.hold_until = t + cfg.cooldown_s
        if level == cl.level:
            return
        if kind == MODEL_CALL:
            stream, plural = "model call", "model calls"
        else:
            stream, plural = "tool call or launch", "tool calls or launches"
        what = f"the same {stream}" if period == 1 else f"a cycle of {period} {plural}"
        evidence = Evidence(
            SIGNAL_REPETITION,
            level,
            f"session {sid!r} repeated {what} (signature {s.h1}) "
            f"{cycles} times in a row in {span:.1f} s, one call every {interval:.2f} s "
            f"(trips at {cfg.repeat_trip_cycles} repeats faster than one call every "
            f"{cfg.repeat_max_interval_s:g} s).",
            span,
            {
                "session": sid,
                "stream": stream,
                "signature": s.h1,
                "cycle_length": period,
                "repeats": cycles,
                "span_s": round(span, 3),
                "interval_s": round(interval, 3),
            },
        )
        self._escalate(cl, level, (evidence, *cl.context), t)

    def _minute_cap(self, cl: _Cluster, t: float) -> None:
        if cl.level == TRIP:
            return
        spent = cl.c_spend + cl.spend_prev
        plan = f" (planned window {cl.plan.reason!r})" if cl.plan and not cl.plan_grace else ""
        evidence = Evidence(
            SIGNAL_CAP_MINUTE,
            TRIP,
            f"spent {_usd(spent)} in the last minute, above the per-minute cap of "
            f"{_usd(cl.cap_min)}{plan}.",
            _MINUTE,
            {"spend_usd": round(spent, 4), "cap_usd_per_minute": cl.cap_min},
        )
        self._escalate(cl, TRIP, (evidence, *cl.context), t)

    # -- all clusters -----------------------------------------------------------------------------

    def _roll_total(self, b: int) -> None:
        """The all-cluster spend ring: close its bucket, check the total hourly cap."""
        if b < self._g_bucket:
            return  # late event: it counts in the current bucket
        n = self._n_short
        old = self._g_bucket
        ring = self._g_ring
        if old >= 0:
            ring[old % n] = self._g_cur
            for k in range(old + 1, min(b, old + n + 1)):
                ring[k % n] = 0.0
        self._g_min_cur += self._g_cur
        self._g_cur = 0.0
        self._g_bucket = b
        minute = b // self._bpm
        if minute != self._g_min:
            if self._g_min >= 0:
                self._g_minutes[self._g_min % _HOUR_MINUTES] = self._g_min_cur
                for k in range(self._g_min + 1, min(minute, self._g_min + _HOUR_MINUTES + 1)):
                    self._g_minutes[k % _HOUR_MINUTES] = 0.0
            self._g_min_cur = 0.0
            self._g_min = minute
        self._g_prev = self._window(ring, b, 1, self._bpm - 1)
        if self._total_trip is not None:
            return
        cap = self.config.total_usd_per_hour
        velocity = self._window(ring, b, 1, self._w_vel) * self._per_hour
        hour = self._g_min_cur
        for k in range(1, _HOUR_MINUTES):
            hour += self._g_minutes[(minute - k) % _HOUR_MINUTES]
        if velocity > cap or hour > cap:
            self._set_total_trip(
                self._hour_cap_evidence(
                    SIGNAL_TOTAL_CAP_HOUR, velocity, hour, cap, who="all clusters together: "
                )
            )

    def _total_minute_cap(self) -> None:
        if self._total_trip is not None:
            return
        cap = self.config.total_usd_per_minute
        spent = self._g_cur + self._g_prev
        self._set_total_trip(
            Evidence(
                SIGNAL_TOTAL_CAP_MINUTE,
                TRIP,
                f"all clusters together spent {_usd(spent)} in the last minute, above the "
                f"total per-minute cap of {_usd(cap)}.",
                _MINUTE,
                {"spend_usd": round(spent, 4), "cap": cap},
            )
        )

    def _set_total_trip(self, evidence: Evidence) -> None:
        self._total_trip = evidence
        self._total_epoch += 1

    def _sync_total(self, cl: _Cluster, t: float) -> None:
        cl.total_epoch = self._total_epoch
        if self._total_trip is not None and cl.level < TRIP:
            self._escalate(cl, TRIP, (self._total_trip, *cl.context), t)

    # -- transitions ------------------------------------------------------------------------------

    def _decision(
        self, cl: _Cluster, level: Level, evidence: tuple[Evidence, ...], t: float
    ) -> Decision:
        dry = self.config.dry_run
        shown = min(level, NOTIFY) if dry else level
        return Decision(Level(shown), cl.name, t, evidence, assessed=level, dry_run=dry)

    def _escalate(
        self, cl: _Cluster, level: Level, evidence: tuple[Evidence, ...], t: float
    ) -> None:
        cl.level = level
        cl.hold_until = t + self.config.cooldown_s
        if level == TRIP and cl.tripped_at is None:
            cl.tripped_at = t
        cl.decision = self._decision(cl, level, evidence, t)
