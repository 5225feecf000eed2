from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from phonewarden.fraud.models import FraudRestriction
from phonewarden.store.engine import make_engine
from phonewarden.store.migrate import current_revision, upgrade


def test_fraud_branch_migrates_and_round_trips(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pw.db'}")
    upgrade(engine)
    assert "fraud_0002" in (current_revision(engine) or "")
    assert {"fraud_restrictions", "fraud_audit", "fraud_usage"} <= set(inspect(engine).get_table_names())
    assert "until" in {column["name"] for column in inspect(engine).get_columns("fraud_audit")}
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        session.add(
            FraudRestriction(
                account="a", destination="", level=2, time=moment, until=moment, reason="r", actor="x"
            )
        )
    with Session(engine) as session:
        row = session.scalars(select(FraudRestriction)).one()
        assert (row.level, row.until, row.lifted_at) == (2, moment, None)
    engine.dispose()
