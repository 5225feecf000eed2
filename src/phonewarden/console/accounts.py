"""Operator accounts: creation with a one-time password and TOTP, login steps, lockout, enrolment."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from phonewarden.console import audit_log, passwords, second_factor
from phonewarden.console.audit_log import Actor
from phonewarden.console.models import ConsoleRecoveryCode, ConsoleSession, ConsoleUser
from phonewarden.console.policy import ConsolePolicy, Role
from phonewarden.console.secretbox import SecretBox
from phonewarden.store.engine import session_factory

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message is meant for the operator."""


class LoginRefused(Exception):
    """Wrong credentials or a locked account; the message never says which user names exist."""


@dataclass(frozen=True)
class Enrolment:
    name: str
    role: Role
    one_time_password: str
    otpauth_uri: str


class Accounts:
    def __init__(self, engine: Engine, box: SecretBox, policy: ConsolePolicy) -> None:
        self._sessions = session_factory(engine)
        self.box = box
        self.policy = policy

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def audit(
        self, actor: Actor, action: str, target: str = "", *, outcome: str = "ok", **detail: Any
    ) -> None:
        with self._tx() as session:
            audit_log.record(session, actor, action, target, outcome=outcome, **detail)

    def count(self) -> int:
        """Number of operators; 0 also before the database is migrated."""
        try:
            with self._tx() as session:
                return int(session.scalar(select(func.count(ConsoleUser.id))) or 0)
        except (OperationalError, ProgrammingError):
            return 0

    def get(self, user_id: int) -> ConsoleUser | None:
        with self._tx() as session:
            return session.get(ConsoleUser, user_id)

    def all(self) -> list[ConsoleUser]:
        with self._tx() as session:
            return list(session.scalars(select(ConsoleUser).order_by(ConsoleUser.name)))

    def create(self, name: str, role: Role, actor: Actor) -> Enrolment:
        if not NAME_PATTERN.match(name):
            raise AccountError(
                f"user name {name!r} must be 1-64 of a-z 0-9 . _ - and start with a letter or digit"
            )
        password, secret = passwords.one_time_password(), second_factor.new_totp_secret()
        with self._tx() as session:
            if session.scalar(select(ConsoleUser.id).where(ConsoleUser.name == name)) is not None:
                raise AccountError(f"user {name!r} exists already (use `phonewarden admin reset {name}`)")
            session.add(
                ConsoleUser(
                    name=name, role=role.value, password_hash=passwords.hash_password(password),
                    totp_secret=self.box.seal(secret), must_enrol=True, failed_logins=0, disabled=False,
                )
            )  # fmt: skip
            audit_log.record(session, actor, "user.create", name, role=role.value)
        return Enrolment(name, role, password, second_factor.enrolment_uri(name, secret))

    def reset(self, name: str, actor: Actor) -> Enrolment:
        """A new one-time password and TOTP secret; existing sessions and recovery codes end."""
        password, secret = passwords.one_time_password(), second_factor.new_totp_secret()
        with self._tx() as session:
            user = session.scalar(select(ConsoleUser).where(ConsoleUser.name == name))
            if user is None:
                raise AccountError(f"no user {name!r}")
            user.password_hash, user.totp_secret = passwords.hash_password(password), self.box.seal(secret)
            user.must_enrol, user.failed_logins, user.locked_until = True, 0, None
            user.totp_last_step = None
            session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
            session.execute(delete(ConsoleRecoveryCode).where(ConsoleRecoveryCode.user_id == user.id))
            audit_log.record(session, actor, "user.reset", name)
            return Enrolment(name, Role(user.role), password, second_factor.enrolment_uri(name, secret))

    def check_password(self, name: str, password: str, actor: Actor, now: datetime) -> ConsoleUser:
        """The first factor; failures count towards the lockout. Raises LoginRefused."""
        refusal = None
        with self._tx() as session:
            user = session.scalar(select(ConsoleUser).where(ConsoleUser.name == name))
            if user is None or user.disabled:
                passwords.verify_password(passwords.DUMMY_HASH, password)  # same time as a real check
                audit_log.record(session, actor, "login.password", name, outcome="failed")
                refusal = "wrong user name or password"
            else:
                refusal = self._locked(session, user, actor, now)
                if refusal is None and not passwords.verify_password(user.password_hash, password):
                    refusal = self._count_failure(session, user, actor, now, "login.password")
                if refusal is None and passwords.needs_rehash(user.password_hash):
                    user.password_hash = passwords.hash_password(password)
        # Raised after the commit: a failure must count although the caller sees an exception.
        if refusal is not None or user is None:
            raise LoginRefused(refusal or "wrong user name or password")
        return user

    def check_second_factor(self, user_id: int, code: str, actor: Actor, now: datetime) -> None:
        """TOTP code or an unused recovery code; failures count towards the lockout."""
        with self._tx() as session:
            user = session.get(ConsoleUser, user_id)
            if user is None or user.disabled:
                refusal: str | None = "the account is gone or disabled"
            else:
                refusal = self._locked(session, user, actor, now) or self._second_factor(
                    session, user, code, actor, now
                )
        if refusal is not None:
            raise LoginRefused(refusal)

    def _second_factor(
        self, session: Session, user: ConsoleUser, code: str, actor: Actor, now: datetime
    ) -> str | None:
        step = second_factor.verify_totp(self.box.open(user.totp_secret), code, user.totp_last_step)
        if step is not None:
            user.totp_last_step = step
            self._succeeded(session, user, actor, now, "login.totp")
            return None
        wanted = second_factor.digest(second_factor.normalise_recovery_code(code))
        recovery = session.scalar(
            select(ConsoleRecoveryCode).where(
                ConsoleRecoveryCode.user_id == user.id,
                ConsoleRecoveryCode.code_hash == wanted,
                ConsoleRecoveryCode.used_at.is_(None),
            )
        )
        if recovery is None:
            return self._count_failure(session, user, actor, now, "login.totp")
        recovery.used_at = now
        self._succeeded(session, user, actor, now, "login.recovery_code")
        return None

    def enrolment_uri(self, user_id: int) -> str:
        user = self.get(user_id)
        if user is None:
            raise AccountError("the account is gone")
        return second_factor.enrolment_uri(user.name, self.box.open(user.totp_secret))

    def complete_enrolment(
        self, user_id: int, new_password: str, code: str, actor: Actor, now: datetime
    ) -> list[str]:
        """First login: replace the one-time password, confirm TOTP, hand out recovery codes."""
        with self._tx() as session:
            user = session.get(ConsoleUser, user_id)
            if user is None or not user.must_enrol:
                raise AccountError("this account has no enrolment pending")
            passwords.check_policy(new_password, user.name)
            if passwords.verify_password(user.password_hash, new_password):
                raise passwords.PasswordPolicyError("the new password must differ from the one-time password")
            step = second_factor.verify_totp(self.box.open(user.totp_secret), code, user.totp_last_step)
            if step is None:
                raise AccountError("the authenticator code is wrong; check the phone's clock and try again")
            user.password_hash, user.must_enrol = passwords.hash_password(new_password), False
            user.totp_last_step = step
            codes = second_factor.new_recovery_codes()
            session.execute(delete(ConsoleRecoveryCode).where(ConsoleRecoveryCode.user_id == user.id))
            for recovery in codes:
                digest = second_factor.digest(second_factor.normalise_recovery_code(recovery))
                session.add(ConsoleRecoveryCode(user_id=user.id, code_hash=digest))
            self._succeeded(session, user, actor, now, "user.enrol")
            return codes

    def change_password(self, user_id: int, current: str, new: str, actor: Actor, now: datetime) -> None:
        """A logged-in operator replaces their password; the current one is asked again."""
        with self._tx() as session:
            user = session.get(ConsoleUser, user_id)
            if user is None:
                raise AccountError("the account is gone")
            if not passwords.verify_password(user.password_hash, current):
                audit_log.record(session, actor, "user.password", user.name, outcome="failed")
                refusal: str | None = "the current password is wrong"
            else:
                passwords.check_policy(new, user.name)
                if passwords.verify_password(user.password_hash, new):
                    raise passwords.PasswordPolicyError("the new password must differ from the current one")
                user.password_hash = passwords.hash_password(new)
                audit_log.record(session, actor, "user.password", user.name)
                refusal = None
        if refusal is not None:
            raise AccountError(refusal)

    def _locked(self, session: Session, user: ConsoleUser, actor: Actor, now: datetime) -> str | None:
        if user.locked_until is None or user.locked_until <= now:
            return None
        wait = int((user.locked_until - now).total_seconds()) + 1
        audit_log.record(session, actor, "login", user.name, outcome="denied", reason="locked")
        return f"too many failed attempts: the account is locked for {wait} s"

    def _count_failure(
        self, session: Session, user: ConsoleUser, actor: Actor, now: datetime, action: str
    ) -> str:
        user.failed_logins += 1
        lock = self.policy.lock_seconds(user.failed_logins)
        if lock:
            user.locked_until = now + timedelta(seconds=lock)
        audit_log.record(session, actor, action, user.name, outcome="failed", failures=user.failed_logins)
        return "wrong user name or password" if action == "login.password" else "wrong code"

    def _succeeded(
        self, session: Session, user: ConsoleUser, actor: Actor, now: datetime, action: str
    ) -> None:
        user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
        audit_log.record(session, actor, action, user.name)
