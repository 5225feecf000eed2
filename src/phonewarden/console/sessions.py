"""Browser sessions (random id in a cookie, only its digest stored) and per-user API tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select

from phonewarden.console.models import ConsoleApiToken, ConsoleSession, ConsoleUser
from phonewarden.console.policy import ConsolePolicy, Role
from phonewarden.console.second_factor import digest
from phonewarden.store.engine import session_factory

TOKEN_PREFIX = "pwt_"
# Last-use times are refreshed at most this often: precise enough for an idle timeout of minutes.
TOUCH_EVERY = timedelta(seconds=15)


@dataclass(frozen=True)
class Principal:
    """Who is asking: from a browser session (with its CSRF token) or from an API token."""

    user_id: int
    name: str
    role: Role
    via: str  # "session" | "token"
    stage: str = "full"  # sessions only: "password" until the second factor, "enrol" before enrolment
    csrf_token: str = ""


class SessionStore:
    def __init__(self, engine: Engine, policy: ConsolePolicy) -> None:
        self._sessions = session_factory(engine)
        self.policy = policy

    def open(self, user_id: int, stage: str, now: datetime) -> str:
        """A new session; returns the cookie value (never stored as such)."""
        token = secrets.token_urlsafe(32)
        with self._sessions.begin() as session:
            session.add(
                ConsoleSession(
                    token_hash=digest(token), user_id=user_id, csrf_token=secrets.token_urlsafe(32),
                    stage=stage, created_at=now, last_seen_at=now,
                )
            )  # fmt: skip
        return token

    def promote(self, token: str, stage: str) -> None:
        with self._sessions.begin() as session:
            row = session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == digest(token)))
            if row is not None:
                row.stage = stage
                row.csrf_token = secrets.token_urlsafe(32)  # a new privilege level gets a new CSRF token

    def lookup(self, token: str, now: datetime) -> Principal | None:
        """The session's principal, or None when unknown or past its idle or absolute limit (then deleted)."""
        with self._sessions.begin() as session:
            row = session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == digest(token)))
            if row is None:
                return None
            user = session.get(ConsoleUser, row.user_id)
            idle = now - row.last_seen_at > timedelta(seconds=self.policy.idle_timeout_s)
            old = now - row.created_at > timedelta(seconds=self.policy.absolute_timeout_s)
            if user is None or user.disabled or idle or old:
                session.delete(row)
                return None
            if now - row.last_seen_at > TOUCH_EVERY:  # a write per request would serialise readers
                row.last_seen_at = now
            return Principal(user.id, user.name, Role(user.role), "session", row.stage, row.csrf_token)

    def close(self, token: str) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == digest(token)))


class TokenStore:
    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    def create(self, user_id: int, name: str, role: Role) -> str:
        """A new token for scripts; returned once, stored as a digest. Its role never exceeds its owner's."""
        with self._sessions.begin() as session:
            owner = session.get(ConsoleUser, user_id)
            if owner is None:
                raise ValueError(f"no user with id {user_id}")
            if not Role(owner.role).allows(role):
                raise ValueError(f"a {owner.role} cannot create a token with role {role.value}")
            token = TOKEN_PREFIX + secrets.token_urlsafe(32)
            session.add(
                ConsoleApiToken(
                    user_id=user_id, name=name[:64], role=role.value, token_hash=digest(token),
                    prefix=token[:10],
                )
            )  # fmt: skip
        return token

    def of_user(self, user_id: int) -> list[ConsoleApiToken]:
        with self._sessions.begin() as session:
            query = select(ConsoleApiToken).where(ConsoleApiToken.user_id == user_id)
            return list(session.scalars(query.order_by(ConsoleApiToken.id)))

    def revoke(self, user_id: int, token_id: int, now: datetime) -> bool:
        with self._sessions.begin() as session:
            row = session.get(ConsoleApiToken, token_id)
            if row is None or row.user_id != user_id or row.revoked_at is not None:
                return False
            row.revoked_at = now
            return True

    def lookup(self, token: str, now: datetime) -> Principal | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self._sessions.begin() as session:
            row = session.scalar(select(ConsoleApiToken).where(ConsoleApiToken.token_hash == digest(token)))
            if row is None or row.revoked_at is not None:
                return None
            owner = session.get(ConsoleUser, row.user_id)
            if owner is None or owner.disabled or owner.must_enrol:
                return None
            if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
                row.last_used_at = now
            # An owner demoted after creating the token caps it.
            role = min(Role(row.role), Role(owner.role), key=lambda r: r.rank)
            return Principal(owner.id, owner.name, role, "token")
