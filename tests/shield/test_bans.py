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


def test_ended_bans_are_lifted_once_kept_as_history_then_forgotten(migrated_engine: Engine) -> None:
    store = BanStore(migrated_engine)
    store.save_ban("198.51.100.7", 600, ["x"], 1)
    store.save_ban("198.51.100.8", 600, ["x"], 1)
    store.save_ban("198.51.100.9", 600, ["x"], 3)
    _age(migrated_engine, "198.51.100.7", 150)
    _age(migrated_engine, "198.51.100.9", 150)
    assert [row.address for row in store.active_bans()] == ["198.51.100.8"]
    assert sorted(store.end_expired(decay_s=100)) == ["198.51.100.7", "198.51.100.9"]
    assert store.end_expired(decay_s=100) == []  # lifted once, not at every sweep
    # kept decay_s x offences after the end: one offence that ended 150 s ago is forgotten, three are not
    assert [(row.address, row.offences) for row in store.ended_bans()] == [("198.51.100.9", 3)]
    with session_factory(migrated_engine).begin() as session:
        session.execute(update(ShieldBan).values(forget_at=datetime.now(UTC) - timedelta(seconds=1)))
    store.end_expired(decay_s=100)
    assert [row.address for row in store.active_bans()] == ["198.51.100.8"] and store.ended_bans() == []


def test_an_operator_unban_ends_the_ban_and_keeps_its_offences(migrated_engine: Engine) -> None:
    store = BanStore(migrated_engine)
    store.save_ban("203.0.113.5", 600, ["scanner"], 2)
    assert store.remove_ban("203.0.113.5")
    assert store.active_bans() == [] and not store.remove_ban("203.0.113.5")
    (ended,) = store.ended_bans()
    assert (ended.address, ended.offences, ended.reasons) == ("203.0.113.5", 2, ["scanner"])
    again = store.save_ban("203.0.113.5", 2400, ["flood"], 3)  # the next offence reuses the row
    assert again.seconds_left(datetime.now(UTC)) > 2390 and again.banned_at > ended.banned_at


def test_would_be_bans_are_stored_marked_and_left_out_of_active_bans(migrated_engine: Engine) -> None:
    store = BanStore(migrated_engine)
    would = store.save_ban("203.0.113.6", 600, ["scanner"], 1, dry_run=True)
    assert would.dry_run and would.to_json(datetime.now(UTC))["dry_run"] is True
    assert store.active_bans() == []  # what the feed, the enforcers and the provisioning gate read
    assert [(row.address, row.dry_run) for row in store.active_bans(include_dry_run=True)] == [
        ("203.0.113.6", True)
    ]
    real = store.save_ban("203.0.113.7", 600, ["flood"], 1)
    assert "dry_run" not in real.to_json(datetime.now(UTC))
    kept = store.save_ban("203.0.113.7", 60, ["scanner"], 1, dry_run=True)  # never replaces a real ban
    assert not kept.dry_run and kept.reasons == ["flood"]
    _age(migrated_engine, "203.0.113.6", 1)
    assert store.end_expired(decay_s=100) == []  # never enforced, so nothing to lift


def test_reasons_are_added_without_touching_the_expiry(migrated_engine: Engine) -> None:
    store = BanStore(migrated_engine)
    saved = store.save_ban("198.51.100.7", 600, ["scanner: svmap"], 1)
    assert store.add_reasons("198.51.100.7", ["scanner: svmap", "brute-force: 5 failures"])
    assert not store.add_reasons("198.51.100.7", ["brute-force: 5 failures"])
    (row,) = store.active_bans()
    assert row.reasons == ["scanner: svmap", "brute-force: 5 failures"]
    assert row.expires_at == saved.expires_at
    assert not store.add_reasons("198.51.100.99", ["x"])  # no running ban: nothing to extend


def test_allowed_networks(migrated_engine: Engine) -> None:
    store = BanStore(migrated_engine)
    assert store.allow("198.51.100.0/24", "our trunk") and not store.allow("198.51.100.0/24")
    assert store.allowed() == ["198.51.100.0/24"]


def test_an_unmigrated_database_says_what_to_do(engine: Engine) -> None:
    with pytest.raises(StoreError, match="phonewarden db upgrade"):
        BanStore(engine).active_bans()


def test_bans_stored_before_shield_0002_survive_the_upgrade_as_real_bans(migrated_engine: Engine) -> None:
    from phonewarden.store.migrate import downgrade, upgrade

    downgrade(migrated_engine, "shield_0001")
    with migrated_engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO shield_bans (address, reasons, offences, banned_at, expires_at) "
            "VALUES ('198.51.100.7', '[\"scanner\"]', 2, '2026-11-27 10:00:00', '2999-01-01 00:00:00')"
        )
    upgrade(migrated_engine)
    (row,) = BanStore(migrated_engine).active_bans()
    assert (row.address, row.offences, row.reasons, row.dry_run) == ("198.51.100.7", 2, ["scanner"], False)
