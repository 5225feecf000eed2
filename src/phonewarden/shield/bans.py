"""The bans store: active bans and allowed networks in the database (SQLite or PostgreSQL).

Bans are kept with wall-clock expiry, because enforcers count down in wall-clock time; at start the service
removes expired rows and re-applies the rest with the time they have left.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select
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

    def seconds_left(self, now: datetime) -> float:
        return max(0.0, (self.expires_at - now).total_seconds())

    def to_json(self, now: datetime) -> dict[str, object]:
        return {
            "address": self.address,
            "reasons": self.reasons,
            "offences": self.offences,
            "banned_at": self.banned_at.isoformat().replace("+00:00", "Z"),
            "expires_at": self.expires_at.isoformat().replace("+00:00", "Z"),
            "seconds_left": round(self.seconds_left(now), 1),
        }


def _row(ban: ShieldBan) -> BanRow:
    return BanRow(ban.address, list(ban.reasons), ban.offences, ban.banned_at, ban.expires_at)


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

    def save_ban(self, address: str, duration_s: int, reasons: list[str], offences: int) -> BanRow:
        now = datetime.now(UTC)
        with self._session() as session:
            ban = session.scalar(select(ShieldBan).where(ShieldBan.address == address))
            if ban is None:
                ban = ShieldBan(address=address, banned_at=now)
                session.add(ban)
            ban.reasons = list(reasons)
            ban.offences = offences
            ban.expires_at = now + timedelta(seconds=duration_s)
            session.flush()
            return _row(ban)

    def remove_ban(self, address: str) -> bool:
        with self._session() as session:
            result = session.execute(delete(ShieldBan).where(ShieldBan.address == address))
            return bool(getattr(result, "rowcount", 0))

    def active_bans(self) -> list[BanRow]:
        now = datetime.now(UTC)
        with self._session() as session:
            bans = session.scalars(
                select(ShieldBan).where(ShieldBan.expires_at > now).order_by(ShieldBan.expires_at.desc())
            )
            return [_row(ban) for ban in bans]

    def remove_expired(self) -> list[str]:
        now = datetime.now(UTC)
        with self._session() as session:
            expired = list(session.scalars(select(ShieldBan.address).where(ShieldBan.expires_at <= now)))
            session.execute(delete(ShieldBan).where(ShieldBan.expires_at <= now))
            return expired

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
