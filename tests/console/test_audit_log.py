from __future__ import annotations

from phonewarden.console import audit_log
from phonewarden.console.audit_log import Actor
from phonewarden.settings import Settings
from phonewarden.store.engine import make_engine, session_factory


def test_entries_are_kept_newest_first_and_page_backwards(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    with session_factory(engine).begin() as session:
        for index in range(5):
            audit_log.record(
                session, Actor("alice", "198.51.100.4"), "token.create", f"t{index}", role="viewer"
            )
    with session_factory(engine)() as session:
        first = audit_log.recent(session, limit=2)
        older = audit_log.recent(session, limit=10, before_id=first[-1].id)
    assert [entry.target for entry in first] == ["t4", "t3"]
    assert [entry.target for entry in older] == ["t2", "t1", "t0"]
    assert (first[0].actor, first[0].source, first[0].detail) == ("alice", "198.51.100.4", {"role": "viewer"})
    engine.dispose()
