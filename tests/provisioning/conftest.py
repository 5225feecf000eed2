"""Provisioning fixtures: a migrated database, an inventory with a key, the store's backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from phonewarden.provisioning.inventory import Inventory
from phonewarden.provisioning.secrets_box import SecretBox, new_key
from phonewarden.provisioning.settings import ProvisioningSettings
from phonewarden.store.engine import make_engine
from phonewarden.store.migrate import upgrade
from tests.store.conftest import db_url, engine, migrated_engine, pg_url  # noqa: F401  (SQLite + PostgreSQL)


@pytest.fixture
def prov_settings() -> ProvisioningSettings:
    return ProvisioningSettings(encryption_key=new_key(), public_url="https://127.0.0.1:8443")


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    sqlite = make_engine(f"sqlite:///{tmp_path / 'prov.db'}")
    upgrade(sqlite)
    yield sqlite
    sqlite.dispose()


@pytest.fixture
def inventory(sqlite_engine: Engine, prov_settings: ProvisioningSettings) -> Inventory:
    assert prov_settings.encryption_key is not None
    return Inventory(sqlite_engine, SecretBox(prov_settings.encryption_key.encode()), prov_settings)
