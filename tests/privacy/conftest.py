from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from phonewarden.store.engine import make_engine
from phonewarden.store.migrate import upgrade

DATA = Path(__file__).resolve().parents[1] / "data" / "privacy"
CAPTURE = DATA / "activation.pcap"


@pytest.fixture
def capture() -> Path:
    return CAPTURE


@pytest.fixture
def devices_file() -> Path:
    return CAPTURE.with_suffix(".devices.json")


@pytest.fixture
def planted() -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(CAPTURE.with_suffix(".expected.json").read_text())
    return result


# Databases: every store/API test runs on SQLite and on a throwaway PostgreSQL database: the store's fixtures.
from tests.store.conftest import db_url, pg_url  # noqa: E402, F401


@pytest.fixture
def privacy_engine(db_url: str) -> Iterator[Engine]:  # noqa: F811 (the store fixture)
    """A database migrated to the privacy branch's head (other guards' branches are not needed)."""
    engine = make_engine(db_url)
    upgrade(engine, "privacy@head")
    yield engine
    engine.dispose()
