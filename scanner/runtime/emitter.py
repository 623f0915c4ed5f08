"""Emit costbreaker events to EventBridge from agents and proxies, without ever hurting them.

Why it is shaped this way: telemetry must never become the outage. The emitter sits in
the request path of an agent or a model proxy, so

- :meth:`EventEmitter.emit` never blocks on the network: it serialises the detail,
  checks its size and appends it to a bounded in-memory queue. A full queue drops the
  event and counts it; it never waits for room.
- Sending happens in batches that respect the PutEvents limits: at most 10 entries per
  call, each entry and the whole request at most 256 KiB as EventBridge counts them
  (UTF-8 bytes of Source, DetailType and Detail; we never set ``Time`` or ``Resources``,
  the event's own time is in its detail). An entry that can never fit is dropped and
  counted at once instead of poisoning every later batch.
- A failing EventBridge (unreachable endpoint, throttling, an error response, entries
  rejected through ``FailedEntryCount``) costs counted drops, never an exception in the
  caller. The time spent on one call is bounded by the boto3 client's own timeouts:
  build it with :func:`client_config` (short connect and read timeouts, two attempts).

Two ways to run: ``background=True`` (default) starts a daemon thread that sends
whenever ten entries are waiting or ``flush_interval_s`` has passed; ``background=False``
sends only inside :meth:`flush`, for AWS Lambda, whose threads are frozen between
invocations (call ``flush`` before returning). Either way ``flush`` and ``close`` take a
timeout and return when it expires, whatever the network does.

The boto3 client is injected, never created here: the caller owns credentials,
region and endpoint (``AWS_ENDPOINT_URL`` works as usual).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .events import DETAIL_TYPES, SOURCE, Event

MAX_ENTRIES_PER_CALL = 10
MAX_ENTRY_BYTES = 256 * 1024
MAX_REQUEST_BYTES = 256 * 1024


def client_config(connect_timeout_s: float = 1.0, read_timeout_s: float = 2.0) -> Any:
    """A botocore ``Config`` suited to the emitter: short timeouts, at most two attempts.

    Use it as ``boto3.client("events", config=client_config())``. The emitter's own
    timeouts cannot interrupt a call in flight; these are what bound it.
    """
    from botocore.config import Config

    return Config(
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        retries={"max_attempts": 2, "mode": "standard"},
    )


@dataclass(frozen=True, slots=True)
class EmitterStats:
    """Counters since the emitter was created. Every event ends in exactly one of them
    (or is still queued): ``accepted == sent + rejected + unavailable + unsent_at_close
    + queued``; ``oversize`` and ``queue_full`` were never accepted."""

    accepted: int = 0
    sent: int = 0
    rejected: int = 0  # EventBridge answered, but failed these entries (FailedEntryCount)
    unavailable: int = 0  # the PutEvents call itself failed (network, throttling, error)
    oversize: int = 0  # larger than one PutEvents entry may be; never queued
    queue_full: int = 0  # the bounded queue was full; never queued
    unsent_at_close: int = 0  # still queued when close() gave up
    queued: int = 0
    put_calls: int = 0
    last_error: str = ""

    @property
    def dropped(self) -> int:
        return (
            self.rejected
            + self.unavailable
            + self.oversize
            + self.queue_full
            + self.unsent_at_close
        )


class _Entry:
    __slots__ = ("detail_type", "detail", "size")

    def __init__(self, detail_type: str, detail: str, size: int) -> None:
        self.detail_type = detail_type
        self.detail = detail
        self.size = size


class EventEmitter:
    """Batching, non-blocking PutEvents sender. Thread-safe; use one per process."""

    def __init__(
        self,
        client: Any,
        *,
        event_bus: str = "default",
        source: str = SOURCE,
        max_queue: int = 10_000,
        flush_interval_s: float = 1.0,
        background: bool = True,
    ) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        if flush_interval_s <= 0:
            raise ValueError("flush_interval_s must be positive")
        self._client = client
        self._bus = event_bus
        self._source = source
        self._source_bytes = len(source.encode("utf-8"))
        self._max_queue = max_queue
        self._interval = flush_interval_s
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[_Entry] = deque()
        self._inflight = 0
        self._flush_wanted = False
        self._closing = False
        self._counts = dict.fromkeys(
            ("accepted", "sent", "rejected", "unavailable", "oversize", "queue_full"), 0
        )
        self._counts["unsent_at_close"] = 0
        self._counts["put_calls"] = 0
        self._last_error = ""
        self._send_lock = threading.Lock()  # one PutEvents call at a time
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(
                target=self._run, name="costbreaker-emitter", daemon=True
            )
            self._thread.start()

    # -- producer side -------------------------------------------------------------

    def emit(self, event: Event) -> bool:
        """Queue one event; return False if it was dropped (too large, or queue full)."""
        return self.emit_detail(DETAIL_TYPES[event.kind], event.to_detail())

    def emit_detail(self, detail_type: str, detail: Mapping[str, Any]) -> bool:
        """Queue a detail under ``detail_type`` as is (no schema validation: that is the
        receiver's job and too slow for a request path). Return False if dropped."""
        text = json.dumps(detail, separators=(",", ":"), ensure_ascii=False, default=str)
        size = self._source_bytes + len(detail_type.encode("utf-8")) + len(text.encode("utf-8"))
        with self._cond:
            if size > MAX_ENTRY_BYTES:
                self._counts["oversize"] += 1
                return False
            if len(self._queue) >= self._max_queue:
                self._counts["queue_full"] += 1
                return False
            self._queue.append(_Entry(detail_type, text, size))
            self._counts["accepted"] += 1
            if len(self._queue) >= MAX_ENTRIES_PER_CALL:
                self._cond.notify()
        return True

    # -- control -------------------------------------------------------------------

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Send what is queued; return True if the queue drained within ``timeout_s``.

        Never raises for network trouble. With a background thread this only waits; in
        ``background=False`` mode it sends in the calling thread and stops starting new
        calls once the deadline has passed (what is left stays queued).
        """
        deadline = time.monotonic() + max(0.0, timeout_s)
        if self._thread is None:
            while time.monotonic() < deadline:
                with self._cond:
                    batch = self._take_batch()
                if not batch:
                    return True
                self._send(batch)
            with self._cond:
                return not self._queue
        with self._cond:
            self._flush_wanted = True
            self._cond.notify_all()
            return self._cond.wait_for(
                lambda: not self._queue and self._inflight == 0,
                timeout=max(0.0, deadline - time.monotonic()),
            )

    def close(self, timeout_s: float = 5.0) -> EmitterStats:
        """Flush within ``timeout_s``, stop the thread, count whatever is left as unsent."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        self.flush(timeout_s)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            self._counts["unsent_at_close"] += len(self._queue)
            self._queue.clear()
        return self.stats

    def __enter__(self) -> EventEmitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stats(self) -> EmitterStats:
        with self._cond:
            return EmitterStats(
                queued=len(self._queue) + self._inflight,
                last_error=self._last_error,
                **self._counts,
            )

    # -- sending -------------------------------------------------------------------

    def _take_batch(self) -> list[_Entry]:
        """Pop up to 10 entries whose sizes add up to at most 256 KiB (lock held)."""
        batch: list[_Entry] = []
        total = 0
        queue = self._queue
        while queue and len(batch) < MAX_ENTRIES_PER_CALL:
            if total + queue[0].size > MAX_REQUEST_BYTES:
                break
            entry = queue.popleft()
            total += entry.size
            batch.append(entry)
        self._inflight = len(batch)
        return batch

    def _send(self, batch: list[_Entry]) -> None:
        entries = [
            {
                "Source": self._source,
                "DetailType": e.detail_type,
                "Detail": e.detail,
                "EventBusName": self._bus,
            }
            for e in batch
        ]
        sent = rejected = unavailable = 0
        error = ""
        with self._send_lock:
            try:
                response = self._client.put_events(Entries=entries)
            except Exception as exc:  # any failure is a counted drop, never the caller's
                unavailable = len(batch)
                error = f"{type(exc).__name__}: {exc}"
            else:
                rejected = int(response.get("FailedEntryCount", 0) or 0)
                sent = len(batch) - rejected
                if rejected:
                    codes = sorted(
                        {
                            r.get("ErrorCode", "?")
                            for r in response.get("Entries", [])
                            if r.get("ErrorCode")
                        }
                    )
                    error = f"{rejected} entries rejected: {', '.join(codes)}"
        with self._cond:
            self._counts["put_calls"] += 1
            self._counts["sent"] += sent
            self._counts["rejected"] += rejected
            self._counts["unavailable"] += unavailable
            if error:
                self._last_error = error
            self._inflight = 0
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: (
                        self._closing
                        or self._flush_wanted
                        or len(self._queue) >= MAX_ENTRIES_PER_CALL
                    ),
                    timeout=self._interval,
                )
                if self._closing:
                    return
                batch = self._take_batch()
                if not self._queue:
                    self._flush_wanted = False
            if batch:
                self._send(batch)
