"""The running fraud guard shared by the API, the live SIP feed and the CLI: engine + store.

One instance per process (`get_service`); calls are serialised with a lock because the API answers in
worker threads while the live feed arrives on the event loop. Restrictions and lifts are written to the
store (with an audit row) when a database engine is given; at start the active ones are loaded back,
and `sync_lifts` (every few seconds in serve) applies lifts and new restrictions stored by another process
and writes the expiries it sees. Every alert is stored as a finding, and each account's calls and cost
per hour are summed in memory and added to the store every FLUSH_SECONDS (history.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from phonewarden.alerts.routing import AlertRouter
from phonewarden.core.windows import TtlMap
from phonewarden.fraud import history
from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.engine import FraudEngine, Output
from phonewarden.fraud.findings import shield_findings
from phonewarden.fraud.models import FraudAudit, FraudRestriction
from phonewarden.fraud.pbx_auth import PbxTokens
from phonewarden.fraud.records import SEVERITIES, Alert, Restriction
from phonewarden.fraud.restrictions import AuditEntry, Decision
from phonewarden.fraud.settings import FraudSettings

log = logging.getLogger(__name__)
FLUSH_SECONDS = 30.0  # calls and cost per hour reach the store at least this often
RECENT_CALLS = 10  # per account, kept as an alert's evidence: the calls of the last hour
RECENT_ACCOUNTS = 100_000


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
        self._usage: dict[tuple[str, float], history.HourUsage] = {}
        self._usage_flushed = time.time()
        self._recent: TtlMap[str, deque[dict[str, Any]]] = TtlMap(3600, RECENT_ACCOUNTS)
        self._restrictions_synced = 0  # highest fraud_restrictions id seen
        self._own_rows: set[int] = set()  # ids this process stored: not applied again by the sync
        self._audit_seen: AuditEntry | None = None  # newest book.audit entry already considered
        if db is not None:
            try:
                self._load(time.time())
            except SQLAlchemyError as exc:  # not migrated yet: run without stored restrictions
                log.warning("fraud: cannot load stored restrictions: %s", exc)

    def _load(self, now: float) -> None:
        assert self.db is not None
        with Session(self.db) as session:
            newest = session.scalar(select(func.max(FraudRestriction.id)))
            self._restrictions_synced = int(newest or 0)
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
            if self.engine.book.audit:
                self._audit_seen = self.engine.book.audit[-1]

    def _deliver(self, outputs: list[Output]) -> None:
        """Alerts at or above alert_min_severity and every restriction go to the alerts outbox."""
        if self.outbox is None:
            return
        for out in outputs:
            if isinstance(out, Restriction) or SEVERITIES.index(out.severity) >= self._min_severity:
                self.outbox.submit({**out.to_json(), "guard": "fraud"})

    def _store(self, outputs: list[Output]) -> None:
        """Deliver, then store alerts (as findings, with the account's recent calls) and restrictions."""
        self._deliver(outputs)
        if self.db is None or not outputs:
            return
        with self.lock:
            alerts = [(out, self._recent_calls(out)) for out in outputs if isinstance(out, Alert)]
        restrictions = [out for out in outputs if isinstance(out, Restriction)]
        with Session(self.db) as session, session.begin():
            ids = [row.id for row in history.write_outputs(session, alerts, restrictions)]
        self._own_rows.update(ids)

    def _recent_calls(self, alert: Alert) -> list[dict[str, Any]]:
        """The account's last calls in the hour before the alert (the service keeps them, not the
        detector, whose windows hold sums)."""
        recent = self._recent.get(alert.account, alert.time)
        return [call for call in recent or () if alert.time - 3600 <= call["end"] <= alert.time]

    def _note_call(self, cdr: Cdr) -> None:
        """Sum the CDR into its account's hour and keep it among the account's recent calls."""
        rating = self.engine.rater.ratings.get(cdr.destination) or self.engine.rater.rate(cdr.destination)
        cost = rating.rate * cdr.billsec / 60.0 if cdr.cost is None else cdr.cost
        key = (cdr.account, history.hour_start(cdr.end))
        usage = self._usage.get(key)
        if usage is None:
            usage = self._usage[key] = history.HourUsage()
        usage.add(cdr.end, cost, cdr.billsec / 60.0)
        recent = self._recent.get(cdr.account, cdr.end)
        if recent is None:
            recent = deque(maxlen=RECENT_CALLS)
            self._recent.set(cdr.account, recent, cdr.end)
        call = {"call": cdr.call_id or cdr.where, "destination": cdr.destination, "end": cdr.end,
                "billsec": cdr.billsec, "cost": round(cost, 4)}  # fmt: skip
        recent.append(call)

    def flush_usage(self) -> None:
        """Add the calls and cost summed since the last flush to the store."""
        with self.lock:
            usage, self._usage = self._usage, {}
            self._usage_flushed = time.time()
        if self.db is None or not usage:
            return
        try:
            with Session(self.db) as session, session.begin():
                history.add_usage(session, usage)
        except SQLAlchemyError as exc:  # not migrated, or the database is down: the hour is lost
            log.warning("fraud: cannot store calls per hour: %s", exc)

    def refresh_findings(self, now: float) -> None:
        """Pull new shield findings from the store, at most once a minute (attack chain)."""
        if self.db is None or now - self._findings_checked < 60:
            return
        since = _utc(self._findings_checked) if self._findings_checked else _utc(now - 86400)
        self._findings_checked = now
        for finding in shield_findings(self.db, since, self.settings.live_accounts):
            self.engine.detector.note_shield_finding(finding.subject, finding.reason, finding.time)

    def ingest(self, cdrs: list[Cdr]) -> list[Output]:
        self.refresh_findings(time.time())
        with self.lock:
            outputs = []
            for cdr in cdrs:
                self._note_call(cdr)
                outputs.extend(self.engine.on_cdr(cdr))
        self._store(outputs)
        if time.time() - self._usage_flushed >= FLUSH_SECONDS or len(self._usage) > 10_000:
            self.flush_usage()
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
            active = self.engine.book.active(time.time() if now is None else now)
        self._store_expiries()
        return active

    def _store_expiries(self) -> None:
        """Write the expiries the book noted since the last call to fraud_audit."""
        with self.lock:
            entries = list(self.engine.book.audit)
            seen = next((i for i in range(len(entries) - 1, -1, -1) if entries[i] is self._audit_seen), -1)
            fresh = [entry for entry in entries[seen + 1 :] if entry.action == "expire"]
            if entries:
                self._audit_seen = entries[-1]
        if self.db is None or not fresh:
            return
        with Session(self.db) as session, session.begin():
            for entry in fresh:
                expiry = FraudAudit(
                    time=_utc(entry.time), action="expire", account=entry.account, level=0,
                    actor=entry.actor, reason=entry.reason,
                )  # fmt: skip
                session.add(expiry)

    def lift(self, account: str, actor: str, now: float | None = None) -> bool:
        moment = time.time() if now is None else now
        with self.lock:
            lifted = self.engine.book.lift(account, actor, moment)
            self.engine.policy.acknowledge(account)
        if self.db is not None:
            lifted = lift_in_store(self.db, account, actor, moment) or lifted
        return lifted

    def lift_destination(self, destination: str, actor: str, now: float | None = None) -> bool:
        """Unblock a number blocked for everyone (Wangiri); `destination` in E.164 digits."""
        moment = time.time() if now is None else now
        with self.lock:
            lifted = self.engine.book.lift_destination(destination, actor, moment)
        if self.db is not None:
            lifted = lift_destination_in_store(self.db, destination, actor, moment) or lifted
        return lifted

    def open_alerts(self) -> list[tuple[float, Alert]]:
        """High alerts waiting for a person, oldest first: (deadline, alert); unacknowledged -> level 1."""
        with self.lock:
            waiting = [
                (deadline, item["alert"]) for deadline, item in self.engine.policy.acks.waiting.values()
            ]
        return sorted(waiting, key=lambda pair: pair[1].time)

    def acknowledge(self, account: str, actor: str) -> bool:
        """A person looked at the account: its waiting alert (memory) and its open stored alerts."""
        with self.lock:
            done = self.engine.policy.acknowledge(account)
        if self.db is not None:
            with Session(self.db) as session:
                stored = bool(history.open_alerts(session, datetime.now(UTC), 1, account))
            done = done or stored
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
        """Apply lifts made elsewhere (`phonewarden fraud lift`, another node) to memory; how many.
        Also applies restrictions stored elsewhere and stores the expiries seen meanwhile."""
        if self.db is None:
            return 0
        self.sync_restrictions()
        with self.lock:
            self.engine.book.active(time.time())  # the sweep: expired restrictions leave the book
        self._store_expiries()
        if time.time() - self._usage_flushed >= FLUSH_SECONDS:
            self.flush_usage()
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
                if row.destination:  # a number block lifted with `fraud lift --destination`
                    block = self.engine.book.destinations.get(row.destination)
                    if block is not None and block.time <= row.time.timestamp() + 1e-3:
                        by, when = row.lifted_by or "store", row.lifted_at.timestamp()
                        lifted += self.engine.book.lift_destination(row.destination, by, when)
                    continue
                current = self.engine.book.accounts.get(row.account)
                # the stored time has microseconds only: compare with a millisecond of slack
                if current is not None and current.time <= row.time.timestamp() + 1e-3:
                    self.engine.book.lift(row.account, row.lifted_by or "store", row.lifted_at.timestamp())
                    lifted += 1
        return lifted

    def sync_restrictions(self) -> int:
        """Apply active restrictions another process stored (`phonewarden demo`, another node); how many."""
        if self.db is None:
            return 0
        now = time.time()
        try:
            with Session(self.db) as session:
                rows = list(
                    session.scalars(
                        select(FraudRestriction)
                        .where(FraudRestriction.id > self._restrictions_synced)
                        .order_by(FraudRestriction.id)
                    )
                )
        except SQLAlchemyError:
            return 0
        applied = 0
        with self.lock:
            for row in rows:
                self._restrictions_synced = max(self._restrictions_synced, row.id)
                if row.id in self._own_rows or row.lifted_at is not None or row.until <= _utc(now):
                    continue
                restriction = Restriction(
                    time=row.time.timestamp(), account=row.account, level=row.level,
                    until=row.until.timestamp(), reason=row.reason, actor=row.actor,
                    destination=row.destination,
                )  # fmt: skip
                applied += self.engine.book.apply(restriction)
            self._own_rows = {i for i in self._own_rows if i > self._restrictions_synced}
        return applied

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
                    "last_call": state.last_seen,
                }
                for name, state in items
            ]


def lift_in_store(db: Engine, account: str, actor: str, now: float) -> bool:
    """Mark the account's active restrictions lifted, with an audit row; True when there was one."""
    active = (
        FraudRestriction.account == account,
        FraudRestriction.destination == "",  # "*" is also every number block's account
        FraudRestriction.lifted_at.is_(None),
    )
    return _lift_rows(db, active, actor, now, ("lift", account, "lifted by operator"))


def lift_destination_in_store(db: Engine, destination: str, actor: str, now: float) -> bool:
    """Mark a number's active blocks lifted, with an audit row; True when there was one."""
    active = (
        FraudRestriction.destination == destination,
        FraudRestriction.lifted_at.is_(None),
        FraudRestriction.until > _utc(now),
    )
    audit = ("unblock-destination", "*", f"+{destination} unblocked by operator")
    return _lift_rows(db, active, actor, now, audit)


def _lift_rows(
    db: Engine, active: tuple[Any, ...], actor: str, now: float, audit: tuple[str, str, str]
) -> bool:
    action, account, reason = audit
    with Session(db) as session, session.begin():
        rows = list(session.scalars(select(FraudRestriction).where(*active)))
        for row in rows:
            row.lifted_at, row.lifted_by = _utc(now), actor
        if rows:
            session.add(
                FraudAudit(
                    time=_utc(now), action=action, account=account, level=0, actor=actor, reason=reason
                )
            )
    return bool(rows)


_service: FraudService | None = None


def current_service() -> FraudService | None:
    """The process's service if one runs here (serve, the console's tests), without making one."""
    return _service


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


# -- serve's running feeds (fraud/live.py, the /cdr push): CDR files and pushes, live calls, the clock --
def ingest_running(service: FraudService, cdrs: list[Cdr]) -> list[Output]:
    """CDRs from a running feed: each first takes its call's live estimate back out (live_calls.py),
    so the CDR replaces what the hang-up booked instead of counting twice."""
    with service.lock:
        for cdr in cdrs:
            service.engine.live.reconcile(cdr)
    return service.ingest(cdrs)


def on_sip_running(service: FraudService, record: Any) -> list[Output]:
    """A live SIP record; a hang-up books the call's estimate, whose alerts are decided here."""
    outputs = service.on_sip(record)
    with service.lock:
        booked = service.engine.live.take_booked()
        decided = service.engine._decide(booked) if booked else []
    if decided:
        service._store(decided)
    return outputs + decided


def tick_running(service: FraudService, now: float) -> list[Output]:
    """The clock-driven checks (ack deadlines, live spend, long risky calls) with no record arriving."""
    with service.lock:
        outputs = service.engine.tick(now)
    service._store(outputs)
    return outputs
