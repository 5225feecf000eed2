from __future__ import annotations

from sqlalchemy import func, select

from phonewarden.console.models import ConsoleRecoveryCode, ConsoleSession, ConsoleUser
from phonewarden.settings import Settings
from phonewarden.store.engine import make_engine, session_factory


def test_deleting_a_user_removes_their_sessions_and_codes(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    with session_factory(engine).begin() as session:
        user = ConsoleUser(name="alice", role="viewer", password_hash="h", totp_secret="s", must_enrol=True,
                           failed_logins=0, disabled=False)  # fmt: skip
        session.add(user)
        session.flush()
        session.add(ConsoleSession(token_hash="a" * 64, user_id=user.id, csrf_token="c", stage="full"))
        session.add(ConsoleRecoveryCode(user_id=user.id, code_hash="b" * 64))
    with engine.begin() as connection:
        connection.execute(ConsoleUser.__table__.delete())
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(ConsoleSession)) == 0
        assert session.scalar(select(func.count()).select_from(ConsoleRecoveryCode)) == 0
    engine.dispose()
