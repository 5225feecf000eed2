from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from phonewarden.guards import GUARDS
from phonewarden.store.engine import session_factory
from phonewarden.store.models import Base, Finding, Guard, IngestRun, IngestStatus, Severity

BERLIN_SUMMER = timezone(timedelta(hours=2))


def _finding(**overrides: object) -> Finding:
    fields: dict[str, object] = {
        "time": datetime(2024, 6, 1, 14, 30, 15, 123456, tzinfo=BERLIN_SUMMER),
        "guard": Guard.SHIELD,
        "kind": "scan",
        "subject": "198.51.100.7",
        "severity": Severity.HIGH,
        "reason": "REGISTER flood from a SIPVicious user agent",
        "evidence": {"user_agent": "friendly-scanner", "count": 412, "ports": [5060, 5061], "ok": None},
    }
    fields.update(overrides)
    return Finding(**fields)


def test_finding_round_trip_keeps_json_and_returns_aware_utc(migrated_engine: Engine) -> None:
    make_session = session_factory(migrated_engine)
    with make_session.begin() as session:
        session.add(_finding())
    with make_session() as session:
        stored = session.scalars(select(Finding)).one()
    assert stored.time == datetime(2024, 6, 1, 12, 30, 15, 123456, tzinfo=UTC)
    assert stored.time.utcoffset() == timedelta(0)
    assert stored.created_at.tzinfo is not None and stored.created_at.utcoffset() == timedelta(0)
    assert stored.evidence == {
        "user_agent": "friendly-scanner",
        "count": 412,
        "ports": [5060, 5061],
        "ok": None,
    }
    assert stored.guard is Guard.SHIELD and stored.severity is Severity.HIGH


def test_time_is_stored_as_utc_and_enums_as_their_values(migrated_engine: Engine) -> None:
    with session_factory(migrated_engine).begin() as session:
        session.add(_finding())
    with migrated_engine.connect() as connection:
        row = connection.execute(text("SELECT guard, severity, time FROM findings")).one()
    assert (row.guard, row.severity) == ("shield", "high")
    if isinstance(row.time, datetime):  # PostgreSQL: timestamptz, shown in the session's time zone
        assert row.time.astimezone(UTC) == datetime(2024, 6, 1, 12, 30, 15, 123456, tzinfo=UTC)
    else:  # SQLite: text holding the UTC wall time
        assert row.time == "2024-06-01 12:30:15.123456"


def test_naive_datetime_is_refused(migrated_engine: Engine) -> None:
    with (
        pytest.raises(StatementError, match="naive datetime"),
        session_factory(migrated_engine).begin() as session,
    ):
        session.add(_finding(time=datetime(2024, 6, 1, 12, 0)))


def test_unknown_guard_is_refused_by_the_database(migrated_engine: Engine) -> None:
    with pytest.raises(IntegrityError), migrated_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO findings (time, guard, kind, subject, severity, reason, evidence, created_at)"
                " VALUES (:t, 'nosuchguard', 'x', 'y', 'high', 'z', '{}', :t)"
            ),
            {"t": datetime(2024, 1, 1, tzinfo=UTC)},
        )


def test_ingest_run_round_trip_with_defaults(migrated_engine: Engine) -> None:
    make_session = session_factory(migrated_engine)
    with make_session.begin() as session:
        session.add(IngestRun(source="/captures/edge.pcap", anomalies={"truncated_frame": 3}))
    with make_session.begin() as session:
        run = session.scalars(select(IngestRun)).one()
        assert run.status is IngestStatus.RUNNING and run.records == 0 and run.finished_at is None
        assert run.started_at.utcoffset() == timedelta(0)
        run.records, run.status = 200_000, IngestStatus.COMPLETED
        run.finished_at = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    with make_session() as session:
        run = session.scalars(select(IngestRun)).one()
    assert (run.records, run.status, run.anomalies) == (
        200_000,
        IngestStatus.COMPLETED,
        {"truncated_frame": 3},
    )
    assert run.finished_at == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_findings_indexes_exist_with_conventional_names() -> None:
    findings = Base.metadata.tables["findings"]
    indexes = {index.name: [column.name for column in index.columns] for index in findings.indexes}
    assert indexes == {"ix_findings_guard_time": ["guard", "time"], "ix_findings_subject": ["subject"]}
    assert Base.metadata.naming_convention["ck"] == "ck_%(table_name)s_%(constraint_name)s"


def test_guard_enum_matches_the_installed_guard_list() -> None:
    assert {guard.value for guard in Guard} == set(GUARDS)
