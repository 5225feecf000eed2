"""The decision log writer: batched inserts from a bounded queue, nothing lost on flush."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine, func, select

from phonewarden.provisioning.eventlog import BATCH, Event, EventLog
from phonewarden.provisioning.models import ProvEvent
from phonewarden.store.engine import session_factory


def count(engine: Engine) -> int:
    with session_factory(engine)() as session:
        return int(session.scalar(select(func.count(ProvEvent.id))) or 0)


def test_every_event_is_written_in_batches(sqlite_engine: Engine) -> None:
    log = EventLog(sqlite_engine)
    total = BATCH * 2 + 7
    for n in range(total):
        log.add(Event(1_800_000_000.0 + n, "deny", f"{n:012x}", "192.0.2.1", "unknown-mac", {"n": n}))
    log.flush()
    log.close()
    assert count(sqlite_engine) == total == log.written and log.dropped == 0
    with session_factory(sqlite_engine)() as session:
        last = session.scalars(select(ProvEvent).order_by(ProvEvent.id.desc()).limit(1)).one()
    assert (last.mac, last.reason, last.detail) == (f"{total - 1:012x}", "unknown-mac", {"n": total - 1})


def test_a_full_queue_drops_and_counts_instead_of_blocking(sqlite_engine: Engine) -> None:
    log = EventLog(sqlite_engine, max_queue=1)
    log.close()  # writer gone: the queue stays full after one item
    log.add(Event(1.0, "deny"))
    log.add(Event(2.0, "deny"))
    assert log.dropped >= 1


def test_a_broken_database_is_logged_not_raised(tmp_path: object, caplog: pytest.LogCaptureFixture) -> None:
    from phonewarden.store.engine import make_engine

    engine = make_engine("sqlite:///:memory:")  # no tables
    log = EventLog(engine)
    with caplog.at_level(logging.ERROR):
        log.add(Event(1.0, "deny"))
        log.flush()
    log.close()
    assert log.written == 0 and "could not write 1 decision log rows" in caplog.text
