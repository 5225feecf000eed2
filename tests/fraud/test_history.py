"""What the service keeps in the store besides restrictions (SQLite): alerts as findings with the calls
they concern, calls and cost per hour, expiries and `until` in the audit trail, restrictions stored by
another process, and the open-alert definition the console counts. On SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from phonewarden.fraud import history
from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.models import FraudAudit, FraudRestriction, FraudUsage
from phonewarden.fraud.records import Alert, Restriction
from phonewarden.fraud.service import FraudService
from phonewarden.fraud.settings import FraudSettings
from phonewarden.store.engine import make_engine
from phonewarden.store.findings import add_finding
from phonewarden.store.migrate import upgrade
from phonewarden.store.models import Finding, Guard, Severity
from tests.store.conftest import db_url, pg_url  # noqa: F401


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:  # noqa: F811 (the store's fixture: SQLite and PostgreSQL)
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _calls(now: float) -> list[Cdr]:
    """Two national calls, then satellite calls a minute apart: the first (EUR 20) breaks the 5-minute
    limit of EUR 15."""
    calls = [Cdr(account="acme", destination="0305550012", start=now - 900, end=now - 840, billsec=60,
                 call_id="nat-1"),
             Cdr(account="acme", destination="0305550013", start=now - 800, end=now - 700, billsec=100,
                 call_id="nat-2")]  # fmt: skip
    for index in range(3):
        end = now - 120 + index * 60
        calls.append(Cdr(account="acme", destination=f"008821345678{index}", start=end - 240, end=end,
                         billsec=240, call_id=f"sat-{index}"))  # fmt: skip
    return calls


def test_every_alert_is_a_finding_with_its_calls_and_restrictions_have_until(db: Engine) -> None:
    now = time.time()
    service = FraudService(FraudSettings(), db)
    outputs = service.ingest(_calls(now))
    alerts = [out for out in outputs if isinstance(out, Alert)]
    [restriction] = [out for out in outputs if isinstance(out, Restriction)]
    with Session(db) as session:
        findings = list(session.scalars(select(Finding).order_by(Finding.id)))
        [audit] = session.scalars(select(FraudAudit)).all()
    assert [(f.guard, f.kind, f.subject, f.severity.value) for f in findings] == [
        (Guard.FRAUD, a.detector, "acme", a.severity) for a in alerts
    ]
    limit = next(f for f in findings if f.kind == "spend-limit")
    assert limit.evidence["estimated_cost"] == pytest.approx(
        next(a.estimated_cost for a in alerts if a.detector == "spend-limit"), abs=1e-4
    )
    # the calls of the hour before it, not only the one that tipped it over
    assert [call["call"] for call in limit.evidence["recent_calls"]] == ["nat-1", "nat-2", "sat-0"]
    risky = next(f for f in findings if f.kind == "high-risk-destination")
    assert risky.evidence["destination"].startswith("882134567")
    assert audit.action == "restrict" and audit.until == history.utc(restriction.until)


def test_calls_and_cost_per_hour_reach_the_store_on_flush(db: Engine) -> None:
    now = time.time()
    service = FraudService(FraudSettings(), db)
    service.ingest(_calls(now))
    service.flush_usage()
    service.ingest([Cdr(account="acme", destination="0305550014", start=now - 30, end=now, billsec=30)])
    service.flush_usage()  # added to the stored hour, not a second row
    with Session(db) as session:
        rows = list(session.scalars(select(FraudUsage)))
    assert sum(row.calls for row in rows) == 6 and len({(r.account, r.hour) for r in rows}) == len(rows)
    assert sum(row.cost for row in rows) == pytest.approx(0.01 + 100 / 60 * 0.01 + 3 * 4 * 5.0 + 0.005)
    assert max(row.last_call for row in rows) == history.utc(now)


def test_expiry_is_written_when_the_sweep_sees_it(db: Engine) -> None:
    now = time.time()
    service = FraudService(FraudSettings(), db)
    service.engine.book.apply(Restriction(time=now - 60, account="b", level=1, until=now + 1, reason="r"))
    assert [r.account for r in service.restrictions(now)] == ["b"]
    assert service.restrictions(now + 5) == []
    service.restrictions(now + 6)  # seen once: one row
    with Session(db) as session:
        rows = [(a.action, a.account, a.actor) for a in session.scalars(select(FraudAudit))]
    assert rows == [("expire", "b", "phonewarden")]


def test_restrictions_stored_elsewhere_are_applied_own_ones_not_again(db: Engine) -> None:
    now = time.time()
    serve = FraudService(FraudSettings(), db)
    serve.ingest(_calls(now))
    assert serve.engine.book.level("acme", now) == 2
    serve.engine.book.lift("acme", "alice", now)  # memory first; the store's lift follows a moment later
    other = FraudService(FraudSettings(), db)  # `phonewarden demo`, another node
    other.ingest([Cdr(account="zed", destination="0088213456789", start=now - 400, end=now, billsec=360)])
    serve.sync_lifts()
    assert serve.engine.book.level("zed", now) == 2
    assert serve.engine.book.level("acme", now) == 0  # its own row is not applied again


def test_open_alerts_need_high_recent_and_no_ack_or_lift_since(db: Engine) -> None:
    now = datetime.now(UTC)
    with Session(db) as session, session.begin():
        for subject, severity, age in (("a", Severity.HIGH, 1), ("b", Severity.CRITICAL, 2),
                                       ("c", Severity.MEDIUM, 1), ("d", Severity.HIGH, 25),
                                       ("e", Severity.HIGH, 3)):  # fmt: skip
            add_finding(session, time=now - timedelta(hours=age), guard=Guard.FRAUD, kind="baseline",
                        subject=subject, severity=severity, reason="r")  # fmt: skip
        add_finding(session, time=now, guard=Guard.SHIELD, kind="scan", subject="a2",
                    severity=Severity.HIGH, reason="r")  # fmt: skip
        session.add(FraudAudit(time=now - timedelta(hours=2), action="ack", account="e", level=0,
                               actor="x", reason="r"))  # acknowledged after its alert  # fmt: skip
    with Session(db) as session:
        assert {f.subject for f in history.open_alerts(session, now)} == {"a", "b"}
    service = FraudService(FraudSettings(), db)
    assert service.acknowledge("b", "alice")  # stored only: no waiting alert in memory
    assert not service.acknowledge("c", "alice")
    with Session(db) as session:
        assert history.count_open_alerts(session, now + timedelta(seconds=1)) == 1
        ack = select(FraudAudit.actor).where(FraudAudit.action == "ack", FraudAudit.account == "b")
        assert list(session.scalars(ack)) == ["alice"]
    with Session(db) as session:
        assert session.scalar(select(FraudRestriction.id)) is None
