"""The EventBridge emitter against a real moto server on loopback (no mocks of our code)."""

from __future__ import annotations

import json
import socket
import threading
import time

import boto3
import pytest

from costbreaker.runtime import emitter as M
from costbreaker.runtime.events import MODEL_CALL, SOURCE, Event, validate_event

from .conftest import free_port


def _event(i: int, cluster: str = "c1") -> Event:
    return Event(
        MODEL_CALL,
        cluster,
        1_741_000_000.0 + i,
        session=f"s{i % 3}",
        signature=f"{i:016x}",
        cost_usd=0.001,
        tokens_in=100,
        tokens_out=10,
        duration_ms=5.0,
        principal="arn:aws:iam::123456789012:role/agents",
        model="small-model-v1",
    )


def _events_client(**config: float) -> object:
    return boto3.client("events", region_name="us-east-1", config=M.client_config(**config))


def _queue_target(name: str) -> tuple[object, str]:
    """An SQS queue receiving every costbreaker event through a rule on the default bus."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = boto3.client("events", region_name="us-east-1")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [SOURCE]}))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    return sqs, url


def _drain(sqs: object, url: str, expected: int, timeout_s: float = 5.0) -> list[dict]:
    got: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < expected and time.monotonic() < deadline:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])  # type: ignore[attr-defined]
        for m in msgs:
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])  # type: ignore[attr-defined]
    return got


def _count_calls(client: object) -> list[int]:
    """Entries per PutEvents call, observed on the real client's event hooks."""
    sizes: list[int] = []
    client.meta.events.register(  # type: ignore[attr-defined]
        "before-parameter-build.events.PutEvents",
        lambda params, **_: sizes.append(len(params["Entries"])),
    )
    return sizes


@pytest.mark.parametrize("background", [True, False])
def test_batches_of_at_most_ten_reach_eventbridge(aws_env: str, background: bool) -> None:
    name = f"batching-{background}"
    sqs, url = _queue_target(name)
    client = _events_client()
    calls = _count_calls(client)
    em = M.EventEmitter(client, background=background, flush_interval_s=0.05)
    for i in range(25):
        assert em.emit(_event(i, cluster=name)) is True
    assert em.flush(timeout_s=10) is True
    stats = em.close()
    assert calls and max(calls) <= 10 and sum(calls) == 25 and len(calls) >= 3
    assert (stats.accepted, stats.sent, stats.dropped, stats.put_calls) == (25, 25, 0, len(calls))
    delivered = _drain(sqs, url, 25)
    assert len(delivered) == 25
    for envelope in delivered:  # what arrives is a valid costbreaker event
        validate_event(envelope)
    assert sorted(e["detail"]["signature"] for e in delivered) == [f"{i:016x}" for i in range(25)]


def test_oversize_entries_are_dropped_and_counted(aws_env: str) -> None:
    client = _events_client()
    calls = _count_calls(client)
    with M.EventEmitter(client, background=False) as em:
        big = {"cluster": "c", "blob": "x" * M.MAX_ENTRY_BYTES}
        assert em.emit_detail("Tool Call", big) is False
        # fits alone, but two of them exceed the request limit: they go in separate calls
        half = {"cluster": "c", "blob": "y" * (M.MAX_REQUEST_BYTES // 2)}
        assert em.emit_detail("Tool Call", half) is True
        assert em.emit_detail("Tool Call", half) is True
        assert em.emit(_event(1)) is True
        assert em.flush(timeout_s=10) is True
        stats = em.stats
    assert stats.oversize == 1 and stats.sent == 3 and stats.dropped == 1
    assert len(calls) >= 2 and all(n <= 10 for n in calls)


def test_rejected_entries_are_counted_not_raised(aws_env: str) -> None:
    client = _events_client()
    em = M.EventEmitter(client, background=False)
    em.emit(_event(1))
    em.emit_detail("", {"cluster": "c"})  # EventBridge rejects an empty detail-type
    em.emit(_event(2))
    assert em.flush(timeout_s=10) is True
    stats = em.close()
    assert (stats.sent, stats.rejected, stats.unavailable) == (2, 1, 0)
    assert "InvalidArgument" in stats.last_error


def test_unavailable_endpoint_drops_and_counts_within_bounded_time(
    aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens
    client = _events_client(connect_timeout_s=0.5, read_timeout_s=0.5)
    em = M.EventEmitter(client, flush_interval_s=0.05)
    start = time.monotonic()
    for i in range(25):
        em.emit(_event(i))
    emitting = time.monotonic() - start
    em.flush(timeout_s=8)
    stats = em.close(timeout_s=2)
    elapsed = time.monotonic() - start
    assert emitting < 0.5  # the caller never waited for the network
    assert elapsed < 11
    assert stats.sent == 0 and stats.unavailable + stats.unsent_at_close == 25
    assert stats.unavailable > 0 and "Could not connect" in stats.last_error


def test_a_hanging_endpoint_never_blocks_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts connections but never answers: emit stays instant, flush and
    close return at their timeouts, the events are counted."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }.items():
        monkeypatch.setenv(key, value)
    try:
        client = _events_client(connect_timeout_s=0.5, read_timeout_s=5.0)
        em = M.EventEmitter(client, flush_interval_s=0.01, max_queue=50)
        worst = 0.0
        for i in range(200):  # far more than the queue holds while the sender hangs
            t = time.perf_counter()
            em.emit(_event(i))
            worst = max(worst, time.perf_counter() - t)
        t = time.monotonic()
        assert em.flush(timeout_s=0.3) is False
        flush_took = time.monotonic() - t
        t = time.monotonic()
        stats = em.close(timeout_s=0.3)
        close_took = time.monotonic() - t
    finally:
        listener.close()
    assert worst < 0.05
    assert flush_took < 1.0 and close_took < 1.0
    assert stats.queue_full > 0 and stats.sent == 0
    assert stats.accepted + stats.queue_full == 200
    assert stats.accepted == stats.queued + stats.unavailable + stats.unsent_at_close


def test_emit_is_thread_safe_and_accounts_for_every_event(aws_env: str) -> None:
    client = _events_client()
    em = M.EventEmitter(client, flush_interval_s=0.02)

    def work(k: int) -> None:
        for i in range(40):
            em.emit(_event(k * 100 + i))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert em.flush(timeout_s=10)
    stats = em.close()
    assert stats.accepted == 160 and stats.sent == 160 and stats.dropped == 0


def test_constructor_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        M.EventEmitter(object(), max_queue=0, background=False)
    with pytest.raises(ValueError):
        M.EventEmitter(object(), flush_interval_s=0, background=False)
