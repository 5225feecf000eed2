"""The running fraud guard shared by the API, the live SIP feed and the CLI: engine + store.

One instance per process (`get_service`); calls are serialised with a lock because the API answers in
worker threads while the live feed arrives on the event loop. Restrictions and lifts are written to the
store (with an audit row) when a database engine is given; at start the active ones are loaded back.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from phonewarden.alerts.routing import AlertRouter
from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.engine import FraudEngine, Output
from phonewarden.fraud.findings import shield_findings
from phonewarden.fraud.models import FraudAudit, FraudRestriction
from phonewarden.fraud.pbx_auth import PbxTokens
from phonewarden.fraud.records import SEVERITIES, Alert, Restriction
from phonewarden.fraud.restrictions import Decision
from phonewarden.fraud.settings import FraudSettings

log = logging.getLogger(__name__)


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class FraudService:
    def __init__(
        self, settings: FraudSettings, db: Engine | None = None, outbox: AlertRouter | None = None
    ) -> None:
        self.settings = settings
        self.pbx_tokens = PbxTokens(settings.pbx_tokens, [settings.push_token])
        self.outbox = outbox
        self._min_severity = SEVERITIES.index(settings.alert_min_severity)
        self.engine = FraudEngine(settings)
        self.db = db
        self.lock = threading.Lock()
        self._findings_checked = 0.0
        self._lifts_synced = time.time() - 86400
        if db is not None:
            try:
                self._load(time.time())
            except SQLAlchemyError as exc:  # not migrated yet: run without stored restrictions
                log.warning("fraud: cannot load stored restrictions: %s", exc)

    def _load(self, now: float) -> None:
        assert self.db is not None
        with Session(self.db) as session:
            rows = session.scalars(
                select(FraudRestriction).where(
                    FraudRestriction.lifted_at.is_(None), FraudRestriction.until > _utc(now)
                )
            )
            for row in rows:
                self.engine.book.apply(
                    Restriction(
                        time=row.time.timestamp(),
                        account=row.account,
                        level=row.level,
                        until=row.until.timestamp(),
                        reason=row.reason,
                        actor=row.actor,
                        destination=row.destination,
                    )
                )

    def _deliver(self, outputs: list[Output]) -> None:
        """Alerts at or above alert_min_severity and every restriction go to the alerts outbox."""
        if self.outbox is None:
            return
        for out in outputs:
            if isinstance(out, Restriction) or SEVERITIES.index(out.severity) >= self._min_severity:
                self.outbox.submit({**out.to_json(), "guard": "fraud"})

    def _store(self, outputs: list[Output]) -> None:
        self._deliver(outputs)
        restrictions = [out for out in outputs if isinstance(out, Restriction)]
        if self.db is None or not restrictions:
            return
        with Session(self.db) as session, session.begin():
            for r in restrictions:
                session.add(
                    FraudRestriction(
                        account=r.account,
                        destination=r.destination,
                        level=r.level,
                        time=_utc(r.time),
                        until=_utc(r.until),
                        reason=r.reason,
                        actor=r.actor,
                    )
                )
                action = "block-destination" if r.destination else "restrict"
                session.add(
                    FraudAudit(
                        time=_utc(r.time),
                        action=action,
                        account=r.account,
                        level=r.level,
                        actor=r.actor,
                        reason=r.reason,
                    )
                )

    def refresh_findings(self, now: float) -> None:
        """Pull new shield findings from the store, at most once a minute (attack chain)."""
        if self.db is None or now - self._findings_checked < 60:
            return
        since = _utc(self._findings_checked) if self._findings_checked else _utc(now - 86400)
        self._findings_checked = now
        for finding in shield_findings(self.db, since):
            self.engine.detector.note_shield_finding(finding.subject, finding.reason, finding.time)

    def ingest(self, cdrs: list[Cdr]) -> list[Output]:
        self.refresh_findings(time.time())
        with self.lock:
            outputs = [out for cdr in cdrs for out in self.engine.on_cdr(cdr)]
        self._store(outputs)
        return outputs

    def on_sip(self, record: Any) -> list[Output]:
        with self.lock:
            outputs = self.engine.on_sip(record)
        self._store(outputs)
        return outputs

    def authorize(self, account: str, destination: str, now: float | None = None) -> Decision:
        with self.lock:
            return self.engine.authorize(account, destination, time.time() if now is None else now)

    def restrictions(self, now: float | None = None) -> list[Restriction]:
        with self.lock:
            return self.engine.book.active(time.time() if now is None else now)

    def lift(self, account: str, actor: str, now: float | None = None) -> bool:
        moment = time.time() if now is None else now
        with self.lock:
            lifted = self.engine.book.lift(account, actor, moment)
            self.engine.policy.acknowledge(account)
        if self.db is not None:
            lifted = lift_in_store(self.db, account, actor, moment) or lifted
        return lifted

    def open_alerts(self) -> list[tuple[float, Alert]]:
        """High alerts waiting for a person, oldest first: (deadline, alert); unacknowledged -> level 1."""
        with self.lock:
            waiting = [
                (deadline, item["alert"]) for deadline, item in self.engine.policy.acks.waiting.values()
            ]
        return sorted(waiting, key=lambda pair: pair[1].time)

    def acknowledge(self, account: str, actor: str) -> bool:
        with self.lock:
            done = self.engine.policy.acknowledge(account)
        if done and self.db is not None:
            with Session(self.db) as session, session.begin():
                session.add(
                    FraudAudit(
                        time=_utc(time.time()),
                        action="ack",
                        account=account,
                        level=0,
                        actor=actor,
                        reason="alert acknowledged",
                    )
                )
        return done

    def sync_lifts(self) -> int:
        """Apply lifts made elsewhere (`phonewarden fraud lift`, another node) to memory; how many."""
        if self.db is None:
            return 0
        since = self._lifts_synced
        try:
            with Session(self.db) as session:
                rows = list(
                    session.scalars(select(FraudRestriction).where(FraudRestriction.lifted_at > _utc(since)))
                )
        except SQLAlchemyError:
            return 0
        lifted = 0
        with self.lock:
            for row in rows:
                assert row.lifted_at is not None
                self._lifts_synced = max(self._lifts_synced, row.lifted_at.timestamp())
                current = self.engine.book.accounts.get(row.account)
                # the stored time has microseconds only: compare with a millisecond of slack
                if current is not None and current.time <= row.time.timestamp() + 1e-3:
                    self.engine.book.lift(row.account, row.lifted_by or "store", row.lifted_at.timestamp())
                    lifted += 1
        return lifted

    def accounts(self, limit: int = 1000) -> list[dict[str, Any]]:
        with self.lock:
            now = self.engine.now
            items = self.engine.detector.accounts.items(now)[-limit:]
            return [
                {
                    "account": name,
                    "calls": state.calls,
                    "cost": round(state.total_cost, 2),
                    "countries": sorted(state.countries),
                    "warm": self.engine.detector.warm(state, now),
                    "level": self.engine.book.level(name, now),
                }
                for name, state in items
            ]


def lift_in_store(db: Engine, account: str, actor: str, now: float) -> bool:
    """Mark the account's active restrictions lifted, with an audit row; True when there was one."""
    with Session(db) as session, session.begin():
        rows = list(
            session.scalars(
                select(FraudRestriction).where(
                    FraudRestriction.account == account, FraudRestriction.lifted_at.is_(None)
                )
            )
        )
        for row in rows:
            row.lifted_at, row.lifted_by = _utc(now), actor
        if rows:
            session.add(
                FraudAudit(
                    time=_utc(now),
                    action="lift",
                    account=account,
                    level=0,
                    actor=actor,
                    reason="lifted by operator",
                )
            )
    return bool(rows)


_service: FraudService | None = None


def get_service(
    settings: FraudSettings | None = None, db: Engine | None = None, outbox: AlertRouter | None = None
) -> FraudService:
    """The process's service; the first caller (serve's live guard) gives settings, database, outbox."""
    global _service
    if _service is None or settings is not None:
        if settings is None:
            from phonewarden.settings import load_settings

            settings = load_settings().fraud
        _service = FraudService(settings, db, outbox)
    return _service
