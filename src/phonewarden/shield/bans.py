"""The bans store: bans and allowed networks in the database (SQLite or PostgreSQL).

Bans are kept with wall-clock expiry, because enforcers count down in wall-clock time; at start the service
re-applies the running ones with the time they have left. A ban that ended (expired, or lifted by an
operator) stays as history until its offences are forgotten (end + decay_s x offences): a repeat offender is
escalated after a restart too. Would-be bans of a dry run are rows marked `dry_run`: listed for the
operator, never in `active_bans()` (the feed, the enforcers, the provisioning gate).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from phonewarden.shield.models import ShieldAllow, ShieldBan
from phonewarden.store.engine import mask_url, session_factory
from phonewarden.store.errors import StoreError


@dataclass(frozen=True, slots=True)
class BanRow:
    address: str
    reasons: list[str]
    offences: int
    banned_at: datetime
    expires_at: datetime
    dry_run: bool = False

    def seconds_left(self, now: datetime) -> float:
        return max(0.0, (self.expires_at - now).total_seconds())

    def to_json(self, now: datetime) -> dict[str, object]:
        record: dict[str, object] = {
            "address": self.address,
            "reasons": self.reasons,
            "offences": self.offences,
            "banned_at": self.banned_at.isoformat().replace("+00:00", "Z"),
            "expires_at": self.expires_at.isoformat().replace("+00:00", "Z"),
            "seconds_left": round(self.seconds_left(now), 1),
        }
        if self.dry_run:
            record["dry_run"] = True
        return record


def _row(ban: ShieldBan) -> BanRow:
    return BanRow(ban.address, list(ban.reasons), ban.offences, ban.banned_at, ban.expires_at, ban.dry_run)


class BanStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = session_factory(engine)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except (OperationalError, ProgrammingError) as exc:
            raise StoreError(
                f"shield tables unusable in {mask_url(self.engine.url)!r} ({exc.orig}); "
                "run `phonewarden db upgrade`"
            ) from None

    def save_ban(
        self, address: str, duration_s: int, reasons: list[str], offences: int, dry_run: bool = False
    ) -> BanRow:
        """Store a new ban (or a new offence of a known source); a would-be ban never replaces a real one
        that is still running."""
        now = datetime.now(UTC)
        with self._session() as session:
            ban = session.scalar(select(ShieldBan).where(ShieldBan.address == address))
            if ban is None:
                ban = ShieldBan(address=address)
                session.add(ban)
            elif dry_run and not ban.dry_run and ban.expires_at > now:
                return _row(ban)
            ban.banned_at = now
            ban.reasons = list(reasons)
            ban.offences = offences
            ban.expires_at = now + timedelta(seconds=duration_s)
            ban.dry_run = dry_run
            ban.forget_at = None
            session.flush()
            return _row(ban)

    def add_reasons(self, address: str, reasons: list[str]) -> bool:
        """Add the reasons a running ban does not have yet; its expiry stays. False when nothing changed."""
        now = datetime.now(UTC)
        with self._session() as session:
            ban = session.scalar(
                select(ShieldBan).where(ShieldBan.address == address, ShieldBan.expires_at > now)
            )
            if ban is None:
                return False
            new = [reason for reason in reasons if reason not in ban.reasons]
            if new:
                ban.reasons = [*ban.reasons, *new]  # a new list: the JSON column tracks assignment only
            return bool(new)

    def remove_ban(self, address: str) -> bool:
        """End a running ban now (an operator lifted it); its offences stay on record. False when none ran."""
        now = datetime.now(UTC)
        with self._session() as session:
            result = session.execute(
                update(ShieldBan)
                .where(ShieldBan.address == address, ShieldBan.expires_at > now)
                .values(expires_at=now)
            )
            return bool(getattr(result, "rowcount", 0))

    def active_bans(self, include_dry_run: bool = False, limit: int | None = None) -> list[BanRow]:
        """Running bans, longest left first; would-be bans of a dry run only when asked for."""
        now = datetime.now(UTC)
        query = select(ShieldBan).where(ShieldBan.expires_at > now)
        if not include_dry_run:
            query = query.where(ShieldBan.dry_run.is_(False))
        query = query.order_by(ShieldBan.expires_at.desc()).limit(limit)
        with self._session() as session:
            return [_row(ban) for ban in session.scalars(query)]

    def count_active(self, include_dry_run: bool = False) -> int:
        now = datetime.now(UTC)
        query = select(func.count(ShieldBan.id)).where(ShieldBan.expires_at > now)
        if not include_dry_run:
            query = query.where(ShieldBan.dry_run.is_(False))
        with self._session() as session:
            return int(session.scalar(query) or 0)

    def ended_bans(self) -> list[BanRow]:
        """Bans that ended and whose offences are not forgotten yet (escalation history)."""
        now = datetime.now(UTC)
        with self._session() as session:
            bans = session.scalars(select(ShieldBan).where(ShieldBan.expires_at <= now))
            return [_row(ban) for ban in bans]

    def end_expired(self, decay_s: int) -> list[str]:
        """Mark bans that ended since the last call, to be forgotten after decay_s x offences, and purge the
        forgotten ones. Returns the real (not dry-run) bans that ended: the enforcers must lift them."""
        now = datetime.now(UTC)
        with self._session() as session:
            ended = list(
                session.scalars(
                    select(ShieldBan).where(ShieldBan.expires_at <= now, ShieldBan.forget_at.is_(None))
                )
            )
            for ban in ended:
                ban.forget_at = ban.expires_at + timedelta(seconds=decay_s * max(1, ban.offences))
            lift = [ban.address for ban in ended if not ban.dry_run]
            session.flush()
            forgotten = (ShieldBan.forget_at <= now) & (ShieldBan.expires_at <= now)  # never a running ban
            session.execute(delete(ShieldBan).where(forgotten))
            return lift

    def allow(self, network: str, note: str = "") -> bool:
        """Add an allowed network; False when it was already there."""
        with self._session() as session:
            if session.scalar(select(ShieldAllow).where(ShieldAllow.network == network)) is not None:
                return False
            session.add(ShieldAllow(network=network, note=note))
            return True

    def allowed(self) -> list[str]:
        with self._session() as session:
            return list(session.scalars(select(ShieldAllow.network).order_by(ShieldAllow.id)))
