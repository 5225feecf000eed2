from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from phonewarden.store.engine import session_factory
from phonewarden.store.findings import add_finding, list_findings
from phonewarden.store.models import Guard, Severity

T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def _add(session_engine: Engine, guard: Guard, minutes: int, subject: str = "198.51.100.7") -> None:
    with session_factory(session_engine).begin() as session:
        add_finding(
            session,
            time=T0 + timedelta(minutes=minutes),
            guard=guard,
            kind="probe",
            subject=subject,
            severity=Severity.MEDIUM,
            reason=f"{guard} at +{minutes}min",
            evidence={"minutes": minutes},
        )


def test_add_finding_assigns_id_and_defaults_evidence(migrated_engine: Engine) -> None:
    with session_factory(migrated_engine).begin() as session:
        finding = add_finding(
            session,
            time=T0,
            guard=Guard.FRAUD,
            kind="toll_fraud",
            subject="acct-17",
            severity=Severity.CRITICAL,
            reason="calls to premium numbers at 3 a.m.",
        )
        assert finding.id is not None
        assert finding.evidence == {}


def test_list_findings_newest_first_filtered_by_guard_since_and_limit(migrated_engine: Engine) -> None:
    for minutes in (0, 10, 20, 30):
        _add(migrated_engine, Guard.SHIELD, minutes)
    _add(migrated_engine, Guard.PRIVACY, 25, subject="phone-1")
    with session_factory(migrated_engine)() as session:
        every = list_findings(session)
        shield = list_findings(session, guard=Guard.SHIELD, since=T0 + timedelta(minutes=10), limit=2)
    assert [finding.evidence["minutes"] for finding in every] == [30, 25, 20, 10, 0]
    assert [finding.evidence["minutes"] for finding in shield] == [30, 20]
    assert all(finding.guard is Guard.SHIELD for finding in shield)


def test_since_compares_instants_across_time_zones(migrated_engine: Engine) -> None:
    _add(migrated_engine, Guard.AUDIT, 0)
    one_minute_later_in_new_york = (T0 + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=-4)))
    with session_factory(migrated_engine)() as session:
        assert list_findings(session, since=T0) != []
        assert list_findings(session, since=one_minute_later_in_new_york) == []


@pytest.mark.parametrize("limit", [0, -1, 10_001])
def test_list_findings_refuses_unreasonable_limits(limit: int) -> None:
    with Session() as session, pytest.raises(ValueError, match="limit must be"):
        list_findings(session, limit=limit)
