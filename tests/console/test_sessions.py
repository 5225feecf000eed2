from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from phonewarden.console.accounts import Accounts
from phonewarden.console.audit_log import Actor
from phonewarden.console.models import ConsoleSession
from phonewarden.console.policy import ConsolePolicy, Role
from phonewarden.console.secretbox import SecretBox
from phonewarden.console.sessions import SessionStore, TokenStore
from phonewarden.settings import Settings
from phonewarden.store.engine import make_engine, session_factory


@pytest.fixture
def stores(settings: Settings) -> tuple[int, SessionStore, TokenStore]:
    engine, policy = (
        make_engine(settings.database_url),
        ConsolePolicy(idle_timeout_s=60, absolute_timeout_s=600),
    )
    accounts = Accounts(engine, SecretBox.in_dir(settings.data_dir), policy)
    accounts.create("alice", Role.OPERATOR, Actor("t", "t"))
    with session_factory(engine).begin() as session:
        from phonewarden.console.models import ConsoleUser

        user = session.query(ConsoleUser).one()
        user.must_enrol = False
        user_id = user.id
    return user_id, SessionStore(engine, policy), TokenStore(engine)


def test_session_stores_a_digest_and_obeys_idle_and_absolute_limits(
    stores: tuple[int, SessionStore, TokenStore], settings: Settings
) -> None:
    user_id, sessions, _ = stores
    start = datetime.now(UTC)
    token = sessions.open(user_id, "password", start)
    with session_factory(make_engine(settings.database_url))() as session:
        assert token not in {row.token_hash for row in session.query(ConsoleSession)}
    first = sessions.lookup(token, start + timedelta(seconds=30))
    assert first is not None and first.stage == "password"
    sessions.promote(token, "full")
    promoted = sessions.lookup(token, start + timedelta(seconds=60))
    assert promoted is not None and promoted.stage == "full" and promoted.csrf_token != first.csrf_token
    # Kept alive by use every 50 s, it still ends at the absolute limit.
    for step in range(2, 12):
        assert sessions.lookup(token, start + timedelta(seconds=50 * step)) is not None
    assert sessions.lookup(token, start + timedelta(seconds=601)) is None
    idle = sessions.open(user_id, "full", start)
    assert sessions.lookup(idle, start + timedelta(seconds=61)) is None
    assert sessions.lookup(idle, start) is None  # deleted, not just refused


def test_token_role_is_capped_by_owner_and_revocable(stores: tuple[int, SessionStore, TokenStore]) -> None:
    user_id, _, tokens = stores
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="cannot create a token with role admin"):
        tokens.create(user_id, "x", Role.ADMIN)
    token = tokens.create(user_id, "pbx", Role.VIEWER)
    principal = tokens.lookup(token, now)
    assert principal is not None and principal.role == Role.VIEWER and principal.via == "token"
    assert tokens.lookup("pwt_" + "A" * 43, now) is None and tokens.lookup("other", now) is None
    assert tokens.revoke(user_id, tokens.of_user(user_id)[0].id, now)
    assert tokens.lookup(token, now) is None
    assert not tokens.revoke(user_id, 9999, now)
