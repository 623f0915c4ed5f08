"""Benchmark of the runtime detector: events per second through ``observe`` on one core,
and memory for 10,000 clusters.

Why: the detector runs inside a Lambda fed by EventBridge; in a storm it sees every
call of every agent. It must keep up on one core, and its state must fit in a Lambda's
memory for every execution cluster of an organisation.

Run:  python bench/bench_detector.py [--events 400000] [--clusters 10000] [--repeat 3]

Workloads (events are built before timing; only ``observe`` is timed):

- one busy cluster at 1,000 events/s of simulated time: inbound requests, model and
  tool calls from 200 concurrent sessions, distinct signatures;
- one session repeating the same tool call (the repetition path): the cluster trips
  early and every later event takes the tripped path;
- 10,000 clusters at 10 events/s each (a window rolls about every 50 events);
- worst cases, 1,000 clusters: one event per 5 s bucket each, so that every event rolls
  a window (the clusters are quiet, the statistics are skipped); three events per
  bucket, so that every third event rolls a window and runs the full statistics.

Every run starts from a detector that has already seen enough traffic (untimed) for
its baselines to be learnt, so the evaluations it makes are the full ones.

Memory is measured with tracemalloc: the detector's allocations after every cluster
has seen ten minutes of traffic, with a few sessions each (typical) and with its
session table full (worst case, ``max_sessions_per_cluster`` sessions).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

try:
    from costbreaker.runtime.detector import Detector, DetectorConfig
    from costbreaker.runtime.events import INBOUND, MODEL_CALL, TOOL_CALL, Event
except ImportError:  # not installed: import from the source tree
    import importlib

    pkg = importlib.import_module("scanner.runtime")
    sys.modules["costbreaker.runtime"] = pkg
    from scanner.runtime.detector import Detector, DetectorConfig  # type: ignore[no-redef]
    from scanner.runtime.events import (  # type: ignore[no-redef]
        INBOUND,
        MODEL_CALL,
        TOOL_CALL,
        Event,
    )

T0 = 1_741_000_000.0


def _mix(
    rng: random.Random, n: int, clusters: list[str], rate: float, sessions: int, t0: float = T0
) -> list[Event]:
    """``n`` events at ``rate`` per simulated second from ``t0``, spread over ``clusters``."""
    out = []
    t = t0
    step = 1.0 / rate
    for i in range(n):
        t += step
        cluster = clusters[i % len(clusters)]
        sid = f"s{rng.randrange(sessions)}"
        r = rng.random()
        if r < 0.15:
            out.append(Event(INBOUND, cluster, t, session=sid))
        elif r < 0.65:
            out.append(
                Event(
                    MODEL_CALL,
                    cluster,
                    t,
                    session=sid,
                    signature=f"{rng.getrandbits(64):016x}",
                    cost_usd=0.00005,
                    tokens_in=2000,
                    tokens_out=300,
                )
            )
        else:
            out.append(
                Event(TOOL_CALL, cluster, t, session=sid, signature=f"{rng.getrandbits(64):016x}")
            )
    return out


def _loop(n: int, t0: float) -> list[Event]:
    sig = "00000000deadbeef"
    return [
        Event(TOOL_CALL, "busy", t0 + i * 0.001, session="stuck", signature=sig) for i in range(n)
    ]


def _rate(
    warm: list[Event], timed: list[Event], repeat: int, config: DetectorConfig
) -> tuple[float, float, str]:
    """Best and median events per second through ``observe`` for ``timed``, each run on a
    fresh detector that first saw ``warm`` (untimed: baselines learnt, windows full), and
    how many clusters ended at each level."""
    rates = []
    levels = ""
    for _ in range(repeat):
        detector = Detector(config)
        observe = detector.observe
        for ev in warm:
            observe(ev)
        gc.collect()
        gc.disable()
        start = time.perf_counter()
        for ev in timed:
            observe(ev)
        elapsed = time.perf_counter() - start
        gc.enable()
        rates.append(len(timed) / elapsed)
        counts = Counter(detector.decision(name).level.label for name in detector.clusters)
        levels = ", ".join(f"{n:,} {label}" for label, n in sorted(counts.items()))
    return max(rates), statistics.median(rates), levels


def _memory(clusters: int, sessions_each: int, config: DetectorConfig) -> float:
    """Bytes allocated by a detector holding ``clusters`` clusters, per cluster."""
    rng = random.Random(5)
    names = [f"cluster-{i}" for i in range(clusters)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    detector = Detector(config)
    # ten minutes of traffic per cluster, one event per cluster every 20 s
    for minute in range(30):
        t = T0 + minute * 20.0
        for j, name in enumerate(names):
            sid = f"s{(minute + j) % sessions_each}" if sessions_each else ""
            kind = INBOUND if minute % 5 == 0 else MODEL_CALL
            detector.observe(
                Event(
                    kind,
                    name,
                    t + j * 1e-4,
                    session=sid,
                    signature=f"{rng.getrandbits(64):016x}",
                    cost_usd=0.001,
                )
            )
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del detector
    return (after - before) / clusters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--clusters", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    config = DetectorConfig()
    rng = random.Random(1)
    print(f"python {platform.python_version()} on {platform.machine()}, nproc {os.cpu_count()}")
    print(f"events per run: {args.events:,}; best and median of {args.repeat} runs; one core\n")

    def report(label: str, warm: list[Event], timed: list[Event]) -> None:
        best, med, levels = _rate(warm, timed, args.repeat, config)
        print(f"{label:<44} {best:10,.0f} ev/s best {med:10,.0f} median  [{levels}]")

    # one busy cluster: 15 min of warm-up at 100 ev/s, then 1,000 ev/s (demand x10, with
    # the same calls per request: to the detector, a viral launch)
    warm = _mix(rng, 90_000, ["busy"], rate=100.0, sessions=200)
    t1 = warm[-1].time
    report("one cluster, 1,000 ev/s", warm, _mix(rng, args.events, ["busy"], 1000.0, 200, t1))
    report("one session in a tool loop (trips, stays)", warm, _loop(args.events, t1))
    del warm

    # many clusters, 13 min of warm-up at one event per cluster every 20 s, then 10 ev/s
    names = [f"cluster-{i}" for i in range(args.clusters)]
    warm = _mix(rng, 39 * args.clusters, names, rate=args.clusters / 20.0, sessions=20)
    busy = _mix(rng, args.events, names, 10.0 * args.clusters, 20, warm[-1].time)
    report(f"{args.clusters:,} clusters, 10 ev/s each", warm, busy)
    del warm, busy

    # worst cases, 1,000 clusters warmed at the rate they are then timed at: every event
    # rolls a window (one event per 5 s bucket: quiet clusters, statistics skipped), and
    # a roll every third event with the full statistics (busy enough to be judged)
    names = [f"sparse-{i}" for i in range(1000)]
    warm = _mix(rng, 156 * len(names), names, rate=len(names) / 5.0, sessions=20)
    sparse = _mix(rng, args.events, names, len(names) / 5.0, 20, warm[-1].time)
    report("1,000 clusters, every event rolls a window", warm, sparse)
    names = [f"judged-{i}" for i in range(1000)]
    warm = _mix(rng, 3 * 156 * len(names), names, rate=3 * len(names) / 5.0, sessions=20)
    judged = _mix(rng, args.events, names, 3 * len(names) / 5.0, 20, warm[-1].time)
    report("1,000 clusters, full evaluation every 3 events", warm, judged)
    del warm, sparse, judged

    typical = _memory(args.clusters, 3, config)
    full = _memory(args.clusters, config.max_sessions_per_cluster, config)
    print(
        f"\nmemory, {args.clusters:,} clusters: {typical * args.clusters / 2**20:,.1f} MiB with 3 "
        f"sessions each ({typical:,.0f} B/cluster); {full * args.clusters / 2**20:,.1f} MiB with "
        f"{config.max_sessions_per_cluster} sessions each ({full:,.0f} B/cluster)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
