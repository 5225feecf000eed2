"""The audit sample for `phonewarden demo`: real lint and probe verdicts, several vendors, stored as runs."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from phonewarden.audit import demo
from phonewarden.audit.models import AuditCheck, AuditRun
from phonewarden.audit.pages import advisories_for, device_checks, fleet
from phonewarden.store.engine import session_factory
from tests.store.conftest import db_url, engine, migrated_engine, pg_url  # noqa: F401  (SQLite + PostgreSQL)


def test_demo_stores_a_mixed_fleet_the_pages_can_rank(migrated_engine: Engine) -> None:  # noqa: F811
    line = demo.load(migrated_engine, random.Random(8), datetime.now(UTC))
    assert line == "3 audit runs (2 config lints, 1 probe), 10 devices, 9 failing"
    with session_factory(migrated_engine)() as session:
        assert session.scalar(select(func.count(AuditRun.id))) == 3
        statuses = set(session.scalars(select(AuditCheck.status).distinct()))
    assert statuses == {"pass", "fail", "unknown"}
    rows = fleet(migrated_engine)
    assert len(rows) == 10
    assert {row.vendor for row in rows} == {"yealink", "snom", "grandstream", "poly", "fanvil"}
    assert {row.site for row in rows} == {"hq", "branch"}
    assert rows[0].failed["critical"] >= 1 and rows[-1].failed_total == 0  # hardened Snom passes everything
    # The old Yealink's firmware is flagged by the shipped advisory table, through the real check.
    found = device_checks(migrated_engine, "/srv/tftp/hq/0015654c4c26.cfg")
    assert found is not None
    vulnerable = next(c for c in found[1] if c.check == "firmware-vulnerable")
    assert vulnerable.status == "fail" and "yealink-sit-2019-t4xs" in vulnerable.detail
    assert [a.id for a in advisories_for("yealink", "T42S", "66.84.0.15")] == ["yealink-sit-2019-t4xs"]
    probed = [row for row in rows if row.target.startswith("198.51.100.")]
    assert len(probed) == 3 and all(row.site == "branch" for row in probed)
