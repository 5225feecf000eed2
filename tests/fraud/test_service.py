"""The service keeps restrictions across restarts in the store, with an audit trail (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.models import FraudAudit
from phonewarden.fraud.service import FraudService
from phonewarden.fraud.settings import FraudSettings
from phonewarden.store.engine import make_engine
from phonewarden.store.migrate import upgrade


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'pw.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def test_restriction_survives_restart_and_lift_is_audited(db: Engine) -> None:
    import time

    now = time.time()
    service = FraudService(FraudSettings(), db)
    outputs = service.ingest(
        [Cdr(account="acme", destination="0088213456789", start=now - 400, end=now, billsec=360)]
    )
    # EUR 30 to satellite in 6 min breaks the 5-minute limit
    assert [getattr(o, "level", None) for o in outputs if o.type == "restriction"] == [2]
    restarted = FraudService(FraudSettings(), db)
    assert not restarted.authorize("acme", "0088213456789").allow
    assert restarted.lift("acme", "alice")
    assert restarted.authorize("acme", "0088213456789").allow
    assert FraudService(FraudSettings(), db).authorize("acme", "0088213456789").allow
    with Session(db) as session:
        actions = [(a.action, a.actor) for a in session.scalars(select(FraudAudit).order_by(FraudAudit.id))]
    assert actions == [("restrict", "phonewarden"), ("lift", "alice")]


def test_unmigrated_database_does_not_stop_the_service(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    service = FraudService(FraudSettings(), engine)
    assert service.authorize("x", "030123456").allow
    engine.dispose()


def test_alerts_and_restrictions_reach_syslog_through_the_outbox(tmp_path: Path) -> None:
    import json
    import socket
    import time

    from phonewarden.alerts.routing import AlertRouter
    from phonewarden.alerts.targets.syslog import SyslogTarget

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        siem = SyslogTarget("127.0.0.1", receiver.getsockname()[1], name="siem")
        router = AlertRouter(tmp_path / "outbox", {"siem": siem}, [])  # default rule: medium and up
        service = FraudService(FraudSettings(alert_min_severity="critical"), None, router)
        now = time.time()
        service.ingest(
            [Cdr(account="acme", destination="0088213456789", start=now - 400, end=now, billsec=360)]
        )
        router.outboxes["siem"].deliver_due()  # what the target's worker thread does
        lines = [receiver.recv(9000).decode() for _ in range(2)]
    records = [json.loads(line.split(" - ", 2)[2]) for line in lines]
    assert sorted(r["type"] for r in records) == ["alert", "restriction"]  # the medium alert stayed home
    assert all(r["guard"] == "fraud" and r["account"] == "acme" for r in records)
    assert router.outboxes["siem"].pending() == []


def test_lift_from_the_cli_reaches_the_running_service(db: Engine) -> None:
    import time

    from phonewarden.fraud.service import lift_in_store

    now = time.time()
    service = FraudService(FraudSettings(), db)
    service.ingest([Cdr(account="acme", destination="0088213456789", start=now - 400, end=now, billsec=360)])
    assert service.sync_lifts() == 0 and not service.authorize("acme", "0088213456789").allow
    assert lift_in_store(db, "acme", "ops", time.time())
    assert service.sync_lifts() == 1
    assert service.authorize("acme", "0088213456789").allow
    assert [(e.action, e.actor) for e in service.engine.book.audit][-1] == ("lift", "ops")


def _wangiri(service: FraudService, lure: str = "0018765550123", shop: str = "shop") -> None:
    import time

    now = time.time()
    service.ingest(
        [
            Cdr(account=f"{shop}-{n}", destination=lure, start=now - 90 + n, end=now - 60 + n, billsec=30)
            for n in range(4)
        ]
    )


def test_number_block_is_lifted_by_number_not_by_account_star(db: Engine) -> None:
    from phonewarden.fraud.service import lift_in_store

    service = FraudService(FraudSettings(), db)
    _wangiri(service)
    _wangiri(service, "0018095550123", "store")  # a second lure, blocked too
    restarted = FraudService(FraudSettings(), db)
    assert not restarted.authorize("anyone", "+18765550123").allow
    assert not lift_in_store(db, "*", "ops", time_now())  # "*" is every block's account: lifts none
    assert not FraudService(FraudSettings(), db).authorize("anyone", "+18765550123").allow
    assert restarted.lift_destination("18765550123", "alice")
    assert restarted.authorize("anyone", "+18765550123").allow
    assert not restarted.lift_destination("18765550123", "alice")
    again = FraudService(FraudSettings(), db)  # the lift is stored; the other block stays
    assert again.authorize("anyone", "+18765550123").allow
    assert not again.authorize("anyone", "+18095550123").allow
    with Session(db) as session:
        actions = [(a.action, a.actor) for a in session.scalars(select(FraudAudit).order_by(FraudAudit.id))]
    assert ("unblock-destination", "alice") in actions


def test_number_unblocked_from_the_cli_reaches_the_running_service(db: Engine) -> None:
    from phonewarden.fraud.service import lift_destination_in_store

    service = FraudService(FraudSettings(), db)
    _wangiri(service)
    assert service.sync_lifts() == 0 and not service.authorize("x", "+18765550123").allow
    assert lift_destination_in_store(db, "18765550123", "ops", time_now())
    assert service.sync_lifts() == 1 and service.authorize("x", "+18765550123").allow


def time_now() -> float:
    import time

    return time.time()
