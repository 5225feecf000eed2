"""The per-target outbox: files that survive a restart, back-off stored in the entry, a target held while
it is down, dead letters kept and re-queued by hand, and every alert delivered once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phonewarden.alerts.outbox import Outbox
from phonewarden.alerts.targets.webhook import WebhookTarget
from tests.alerts.peers import Hook, webhook_receiver

ALERT = {"type": "alert", "guard": "fraud", "severity": "high", "account": "acme", "reason": "spend"}
DOWN = "http://127.0.0.1:9/hook"  # discard port: nothing answers


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hook() -> Iterator[Hook]:
    yield from webhook_receiver()


def _outbox(folder: Path, url: str, clock: Clock, **retry: Any) -> Outbox:
    return Outbox(folder, WebhookTarget(url, b"k", timeout=2, name=folder.name), clock=clock, **retry)


def test_entries_survive_a_restart_and_are_delivered_once(tmp_path: Path, hook: Hook) -> None:
    clock = Clock()
    first = _outbox(tmp_path / "siem", DOWN, clock)
    first.add(ALERT)
    first.add({**ALERT, "account": "beta"})
    first.deliver_due()
    # The process restarts with the target back: a new outbox on the same folder finds both.
    second = _outbox(tmp_path / "siem", hook.url, clock)
    assert [entry.alert["account"] for entry in second.pending()] == ["acme", "beta"]
    clock.now += 30
    assert second.deliver_due() is None and second.deliver_due() is None
    assert [json.loads(body)["account"] for body, _ in hook.received] == ["acme", "beta"]
    assert second.pending() == [] and not list((tmp_path / "siem").glob("*.tmp"))


def test_backoff_doubles_up_to_the_cap_and_is_stored_in_the_entry(tmp_path: Path) -> None:
    clock = Clock()
    outbox = _outbox(tmp_path / "hook", DOWN, clock, retry_first_s=10, retry_max_s=35)
    entry = outbox.add(ALERT)
    delays = []
    for _ in range(4):
        delays.append(outbox.deliver_due())
        stored = json.loads((tmp_path / "hook" / f"{entry.id}.json").read_text())
        assert stored["next_attempt"] == clock.now + delays[-1]
        clock.now = stored["next_attempt"]
    assert delays == [10, 20, 35, 35]
    assert stored["attempts"] == 4 and "Connection refused" in stored["last_error"]


def test_a_down_target_is_held_not_hammered(tmp_path: Path) -> None:
    clock = Clock()
    outbox = _outbox(tmp_path / "hook", DOWN, clock, retry_first_s=60)
    outbox.add(ALERT)
    outbox.deliver_due()
    outbox.add({**ALERT, "account": "beta"})  # new while held: waits with the others
    assert outbox.deliver_due() == 60
    assert [entry.attempts for entry in outbox.pending()] == [1, 0]


def test_dead_letters_stay_visible_and_an_operator_can_requeue(tmp_path: Path, hook: Hook) -> None:
    clock = Clock()
    outbox = _outbox(tmp_path / "hook", DOWN, clock, retry_first_s=3600, retry_max_s=3600, dead_letter_days=1)
    entry = outbox.add(ALERT)
    for _ in range(25):
        outbox.deliver_due()
        clock.now += 3600
    assert outbox.pending() == []
    (dead,) = outbox.dead_letters()
    assert dead.id == entry.id and dead.dead and dead.attempts == 24 and dead.alert == ALERT
    outbox.target = WebhookTarget(hook.url, b"k")
    assert outbox.deliver_due() is None and hook.received == []  # never retried on its own
    assert outbox.retry_now(entry.id)
    assert outbox.dead_letters() == [] and outbox.deliver_due() is None
    assert len(hook.received) == 1 and outbox.pending() == []
    assert not outbox.retry_now(entry.id)  # delivered: nothing left to retry


def test_retry_now_ends_the_hold(tmp_path: Path, hook: Hook) -> None:
    clock = Clock()
    outbox = _outbox(tmp_path / "hook", DOWN, clock, retry_first_s=600)
    entry = outbox.add(ALERT)
    outbox.deliver_due()
    outbox.target = WebhookTarget(hook.url, b"k")
    assert outbox.deliver_due() == 600
    assert outbox.retry_now(entry.id) and outbox.deliver_due() is None and len(hook.received) == 1


def test_retry_now_refuses_names_that_are_not_entry_ids(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "hook", None)
    (tmp_path / "secret.json").write_text("{}")
    assert not outbox.retry_now("../secret")
    assert not outbox.retry_now("00000000000000000001-deadbeef")


def test_an_unreadable_entry_is_left_in_place(tmp_path: Path, hook: Hook) -> None:
    outbox = _outbox(tmp_path / "hook", hook.url, Clock())
    broken = tmp_path / "hook" / "00000000000000000001-deadbeef.json"
    broken.write_text("{not json")
    outbox.add(ALERT)
    assert outbox.deliver_due() is None and len(hook.received) == 1 and broken.exists()


def test_worker_thread_delivers_each_alert_once(tmp_path: Path, hook: Hook) -> None:
    arrived = threading.Event()
    outbox = Outbox(tmp_path / "hook", WebhookTarget(hook.url, b"k"))

    class Counting(WebhookTarget):
        def send(self, alert: dict[str, Any]) -> None:
            super().send(alert)
            if len(hook.received) == 20:
                arrived.set()

    outbox.target = Counting(hook.url, b"k")
    outbox.start()
    try:
        for number in range(20):
            outbox.add({**ALERT, "n": number})
        assert arrived.wait(60), "the worker did not deliver 20 alerts"
    finally:
        outbox.stop()
    assert sorted(json.loads(body)["n"] for body, _ in hook.received) == list(range(20))
    assert outbox.pending() == []
