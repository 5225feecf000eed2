from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from phonewarden.audit.models import AuditCheck, AuditRun
from phonewarden.console.overview import TILES_BY_KEY, hourly_series, tile_count, tile_rows
from phonewarden.privacy.models import PrivacyRun, PrivacyVerdict
from phonewarden.settings import Settings
from phonewarden.shield.bans import BanStore
from phonewarden.store.engine import make_engine, session_factory
from phonewarden.store.findings import add_finding
from phonewarden.store.models import Guard, Severity


def test_tiles_count_what_the_guards_stored(settings: Settings) -> None:
    engine, now = make_engine(settings.database_url), datetime.now(UTC)
    assert {key: tile_count(tile, engine, now) for key, tile in TILES_BY_KEY.items()} == dict.fromkeys(
        TILES_BY_KEY, 0
    )
    BanStore(engine).save_ban("203.0.113.1", 600, ["scanner:sipvicious"], 2)
    BanStore(engine).save_ban("203.0.113.2", 600, ["flood:invite"], 1)
    BanStore(engine).save_ban("203.0.113.3", 600, ["flood:invite"], 1, dry_run=True)  # blocks nothing
    assert tile_count(TILES_BY_KEY["bans"], engine, now) == 2
    assert tile_count(TILES_BY_KEY["bans"], engine, now + timedelta(hours=1)) == 0  # expired by then
    rows = tile_rows(TILES_BY_KEY["bans"], engine, now)
    assert rows is not None and {row[0] for row in rows[1]} == {"203.0.113.1", "203.0.113.2"}
    engine.dispose()


def test_a_missing_table_reads_as_not_available(tmp_path: object) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")
    assert tile_count(TILES_BY_KEY["fraud"], engine, datetime.now(UTC)) is None
    assert tile_rows(TILES_BY_KEY["privacy"], engine, datetime.now(UTC)) is None
    engine.dispose()


def test_hourly_series_buckets_findings_and_bans_by_hour(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    now = datetime(2026, 11, 25, 15, 40, tzinfo=UTC)
    with session_factory(engine).begin() as session:
        for minutes in (5, 10, 70, 70, 60 * 30):  # 15:35, 15:30, 14:30 twice, 30 h ago (outside)
            add_finding(session, time=now - timedelta(minutes=minutes), guard=Guard.SHIELD, kind="scan",
                        subject="198.51.100.1", severity=Severity.LOW, reason="r")  # fmt: skip
    series = hourly_series(engine, now, hours=3)
    assert series["findings"] == [0, 2, 2]
    assert series["hours"][-1] == int(datetime(2026, 11, 25, 15, tzinfo=UTC).timestamp())
    assert series["bans"] == [0, 0, 0]
    engine.dispose()


def _audit_run(engine: Engine, statuses: dict[str, str]) -> None:
    with session_factory(engine).begin() as session:
        run = AuditRun(kind="config", site="hq", targets=len(statuses), failed=0, errors=[])
        for target, status in statuses.items():
            run.checks.append(
                AuditCheck(time=datetime.now(UTC), target=target, vendor="yealink", model="T54W", firmware="",
                           check="web_default_password", status=status, severity="high", detail="d",
                           remediation="set a password", evidence={})
            )  # fmt: skip
        session.add(run)


def test_audit_tile_counts_each_device_by_its_newest_run(settings: Settings) -> None:
    engine, now = make_engine(settings.database_url), datetime.now(UTC)
    _audit_run(engine, {"phone-1.cfg": "fail", "phone-2.cfg": "fail"})
    assert tile_count(TILES_BY_KEY["audit"], engine, now) == 2
    _audit_run(engine, {"phone-1.cfg": "pass"})  # fixed and linted again
    assert tile_count(TILES_BY_KEY["audit"], engine, now) == 1
    rows = tile_rows(TILES_BY_KEY["audit"], engine, now)
    assert rows is not None and [row[0] for row in rows[1]] == ["phone-2.cfg"]
    engine.dispose()


def _privacy_run(engine: Engine, statuses: dict[str, str]) -> None:
    with session_factory(engine).begin() as session:
        run = PrivacyRun(source="phone.pcapng", frames=1, policies=["eu"], summary={})
        for device, status in statuses.items():
            record = {"type": "verdict", "device": device, "policy": "eu", "status": status, "reasons": []}
            run.verdicts.append(
                PrivacyVerdict(
                    time=datetime.now(UTC), device=device, policy="eu", status=status, record=record
                )
            )
        session.add(run)


def test_privacy_tile_counts_devices_whose_newest_run_violates(settings: Settings) -> None:
    engine, now = make_engine(settings.database_url), datetime.now(UTC)
    _privacy_run(engine, {"nokia": "violation", "snom": "violation"})
    assert tile_count(TILES_BY_KEY["privacy"], engine, now) == 2
    _privacy_run(engine, {"snom": "ok"})  # after a firmware update the snom stays in the EU
    assert tile_count(TILES_BY_KEY["privacy"], engine, now) == 1
    rows = tile_rows(TILES_BY_KEY["privacy"], engine, now)
    assert rows is not None and [row[0] for row in rows[1]] == ["nokia"]
    engine.dispose()


def test_fraud_tile_counts_open_alerts_in_memory_and_store_once(settings: Settings) -> None:
    from phonewarden.fraud import service as fraud_service
    from phonewarden.fraud.models import FraudAudit
    from phonewarden.fraud.records import Alert

    engine, now = make_engine(settings.database_url), datetime.now(UTC)
    tile = TILES_BY_KEY["fraud"]
    service = fraud_service.get_service(settings.fraud, engine)  # as serve's live hook makes it
    with session_factory(engine).begin() as session:
        for subject, severity, hours in (("acct-1", Severity.CRITICAL, 2), ("acct-2", Severity.MEDIUM, 1),
                                         ("acct-3", Severity.HIGH, 30)):  # fmt: skip
            add_finding(session, time=now - timedelta(hours=hours), guard=Guard.FRAUD, kind="spend-limit",
                        subject=subject, severity=severity, reason="r")  # fmt: skip
    assert tile_count(tile, engine, now) == 1  # critical, recent; not medium, not 30 h old
    # A high alert the running service waits on; the service also stored it: counted once.
    alert = Alert(time=now.timestamp() - 60, account="acct-4", detector="sequential", severity="high",
                  reason="25 calls to +25261234567 within 10 min")  # fmt: skip
    service._store([alert])
    service.engine.policy.acks.require("acct-4", {"alert": alert}, alert.time)
    assert tile_count(tile, engine, now) == 2
    rows = tile_rows(tile, engine, now)
    assert rows is not None and [row[0] for row in rows[1]] == ["acct-4", "acct-1"]
    assert rows[0][:3] == ["account", "detector", "severity"] and rows[1][0][6] != ""  # a deadline runs
    with session_factory(engine).begin() as session:
        session.add(FraudAudit(time=now, action="lift", account="acct-1", level=0, actor="alice", reason="r"))
    assert tile_count(tile, engine, now) == 1
    assert (
        service.acknowledge("acct-4", "alice") and tile_count(tile, engine, now + timedelta(seconds=1)) == 0
    )
    engine.dispose()
