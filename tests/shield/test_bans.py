"""The bans store on SQLite and PostgreSQL (fixtures from tests/store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update

from phonewarden.shield.bans import BanStore
from phonewarden.shield.models import ShieldBan
from phonewarden.store.engine import session_factory
from phonewarden.store.errors import StoreError
from tests.store import conftest as store_fixtures

# The store's fixtures: every test here runs on SQLite and on PostgreSQL.
pg_url, db_url = store_fixtures.pg_url, store_fixtures.db_url
engine, migrated_engine = store_fixtures.engine, store_fixtures.migrated_engine


def _age(engine: Engine, address: str, seconds: float) -> None:
    with session_factory(engine).begin() as session:
        session.execute(
            update(ShieldBan)
            .where(ShieldBan.address == address)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=seconds))
        )


def test_bans_are_saved_listed_updated_and_removed(migrated_engine: Engine) -> None:
    store = BanStore(migrated_engine)
    store.save_ban("198.51.100.7", 600, ["brute-force: 5 failures"], 1)
    store.save_ban("2001:db8::/64", 3600, ["scanner"], 1)
    again = store.save_ban("198.51.100.7", 2400, ["brute-force", "enumeration"], 2)
    assert again.offences == 2 and 2390 < again.seconds_left(datetime.now(UTC)) <= 2400
    rows = {row.address: row for row in store.active_bans()}
    assert set(rows) == {"198.51.100.7", "2001:db8::/64"}
    assert rows["198.51.100.7"].reasons == ["brute-force", "enumeration"]
    assert store.remove_ban("198.51.100.7") and not store.remove_ban("198.51.100.7")
    assert [row.address for row in store.active_bans()] == ["2001:db8::/64"]


def test_expired_bans_are_not_active_and_get_removed(migrated_engine: Engine) -> None:
    store = BanStore(migrated_engine)
    store.save_ban("198.51.100.7", 600, ["x"], 1)
    store.save_ban("198.51.100.8", 600, ["x"], 1)
    _age(migrated_engine, "198.51.100.7", 1)
    assert [row.address for row in store.active_bans()] == ["198.51.100.8"]
    assert store.remove_expired() == ["198.51.100.7"]
    assert store.remove_expired() == []


def test_allowed_networks(migrated_engine: Engine) -> None:
    store = BanStore(migrated_engine)
    assert store.allow("198.51.100.0/24", "our trunk") and not store.allow("198.51.100.0/24")
    assert store.allowed() == ["198.51.100.0/24"]


def test_an_unmigrated_database_says_what_to_do(engine: Engine) -> None:
    with pytest.raises(StoreError, match="phonewarden db upgrade"):
        BanStore(engine).active_bans()
