from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from phonewarden.console.accounts import AccountError, Accounts, LoginRefused
from phonewarden.console.audit_log import Actor
from phonewarden.console.models import ConsoleAudit, ConsoleUser
from phonewarden.console.policy import ConsolePolicy, Role
from phonewarden.console.secretbox import SecretBox
from phonewarden.settings import Settings
from phonewarden.store.engine import make_engine, session_factory

CLI = Actor("cli:root", "localhost")


@pytest.fixture
def accounts(settings: Settings) -> Accounts:
    return Accounts(make_engine(settings.database_url), SecretBox.in_dir(settings.data_dir), ConsolePolicy())


def test_create_stores_only_a_hash_and_a_sealed_secret(accounts: Accounts) -> None:
    enrolment = accounts.create("alice", Role.OPERATOR, CLI)
    secret = pyotp.parse_uri(enrolment.otpauth_uri).secret
    user = accounts.all()[0]
    assert (user.name, user.role, user.must_enrol) == ("alice", "operator", True)
    assert enrolment.one_time_password not in user.password_hash and secret not in user.totp_secret
    with pytest.raises(AccountError, match="exists already"):
        accounts.create("alice", Role.VIEWER, CLI)
    with pytest.raises(AccountError, match="must be 1-64"):
        accounts.create("Alice Smith", Role.VIEWER, CLI)


def test_enrolment_then_login_steps(accounts: Accounts) -> None:
    enrolment = accounts.create("bob", Role.ADMIN, CLI)
    totp = pyotp.parse_uri(enrolment.otpauth_uri)
    now = datetime.now(UTC)
    user = accounts.check_password("bob", enrolment.one_time_password, CLI, now)
    with pytest.raises(ValueError, match="user name"):
        accounts.complete_enrolment(user.id, "bob-is-the-best-user", totp.now(), CLI, now)
    with pytest.raises(ValueError, match="differ from the one-time password"):
        accounts.complete_enrolment(user.id, enrolment.one_time_password, totp.now(), CLI, now)
    codes = accounts.complete_enrolment(user.id, "Lantern-Quarry-9-Orbit", totp.now(), CLI, now)
    with pytest.raises(LoginRefused, match="wrong code"):  # the enrolment's code does not log in again
        accounts.check_second_factor(user.id, totp.now(), CLI, now)
    assert len(codes) == 10
    with pytest.raises(AccountError, match="no enrolment pending"):
        accounts.complete_enrolment(user.id, "Lantern-Quarry-9-Orbit", totp.now(), CLI, now)
    assert accounts.check_password("bob", "Lantern-Quarry-9-Orbit", CLI, now).id == user.id
    accounts.check_second_factor(user.id, totp.at(time.time() + 30), CLI, now)
    with pytest.raises(LoginRefused, match="wrong code"):
        accounts.check_second_factor(user.id, "000000", CLI, now)


def test_lockout_expires_and_success_resets_the_count(accounts: Accounts) -> None:
    enrolment = accounts.create("carol", Role.VIEWER, CLI)
    now = datetime.now(UTC)
    for _ in range(5):
        with pytest.raises(LoginRefused, match="wrong user name or password"):
            accounts.check_password("carol", "wrong-wrong-wrong", CLI, now)
    with pytest.raises(LoginRefused, match=r"locked for 3[01] s"):
        accounts.check_password("carol", enrolment.one_time_password, CLI, now)
    later = now + timedelta(seconds=31)
    accounts.check_password("carol", enrolment.one_time_password, CLI, later)
    user = accounts.all()[0]
    assert user.failed_logins == 5  # only the second factor completes a login and resets the count


def test_reset_gives_new_credentials_and_audits(accounts: Accounts, settings: Settings) -> None:
    first = accounts.create("dave", Role.VIEWER, CLI)
    second = accounts.reset("dave", CLI)
    assert first.one_time_password != second.one_time_password and first.otpauth_uri != second.otpauth_uri
    with pytest.raises(LoginRefused):
        accounts.check_password("dave", first.one_time_password, CLI, datetime.now(UTC))
    with pytest.raises(AccountError, match="no user"):
        accounts.reset("nobody", CLI)
    with session_factory(make_engine(settings.database_url))() as session:
        actions = list(session.scalars(select(ConsoleAudit.action).order_by(ConsoleAudit.id)))
        assert session.scalar(select(ConsoleUser.must_enrol)) is True
    assert actions == ["user.create", "user.reset", "login.password"]
