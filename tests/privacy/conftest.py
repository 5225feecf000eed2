from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

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


# Databases: every store/API test runs on SQLite and on a throwaway PostgreSQL database, as in
# tests/store/conftest.py. PostgreSQL: PHONEWARDEN_TEST_PG_URL, else the local server with trust auth;
# a uniquely named database per session, dropped at the end. When it does not answer, the PostgreSQL
# cases are skipped, unless CI or PHONEWARDEN_REQUIRE_PG=1 says they must run (then they fail).
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_required() -> bool:
    ci = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
    return ci or os.environ.get("PHONEWARDEN_REQUIRE_PG") == "1"


def _libpq_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    return (parsed.set(database=database) if database else parsed).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    server_url = os.environ.get("PHONEWARDEN_TEST_PG_URL", DEFAULT_PG_URL)
    try:
        admin = psycopg.connect(_libpq_dsn(server_url), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        masked = make_url(server_url).render_as_string(hide_password=True)
        message = (f"PostgreSQL at {masked} does not answer ({exc}); set PHONEWARDEN_TEST_PG_URL "
                   "or install the Debian package postgresql")  # fmt: skip
        if _pg_required():
            pytest.fail(f"{message} (required because CI or PHONEWARDEN_REQUIRE_PG=1)")
        pytest.skip(message)
    name = f"phonewarden_privacy_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'phonewarden.db'}"
    url: str = request.getfixturevalue("pg_url")
    with psycopg.connect(_libpq_dsn(url), autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")
    return url


@pytest.fixture
def privacy_engine(db_url: str) -> Iterator[Engine]:
    """A database migrated to the privacy branch's head (other guards' branches are not needed)."""
    engine = make_engine(db_url)
    upgrade(engine, "privacy@head")
    yield engine
    engine.dispose()
