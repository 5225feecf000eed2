"""Database fixtures: every store test runs on SQLite and on a throwaway PostgreSQL database.

PostgreSQL: PHONEWARDEN_TEST_PG_URL, else the local server with trust auth. A uniquely named database
is created for the session and dropped at the end; existing databases are never touched. When the
server does not answer the PostgreSQL cases are skipped, unless CI or PHONEWARDEN_REQUIRE_PG=1 says
they must run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from phonewarden.store.engine import make_engine
from phonewarden.store.migrate import upgrade

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pg_required() -> bool:
    ci = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
    return ci or os.environ.get("PHONEWARDEN_REQUIRE_PG") == "1"


def _libpq_dsn(sqlalchemy_url: str, database: str | None = None) -> str:
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database that lives for this test session."""
    server_url = os.environ.get("PHONEWARDEN_TEST_PG_URL", DEFAULT_PG_URL)
    try:
        admin = psycopg.connect(_libpq_dsn(server_url), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        masked = make_url(server_url).render_as_string(hide_password=True)
        message = f"PostgreSQL at {masked} does not answer ({exc}); set PHONEWARDEN_TEST_PG_URL"
        if _pg_required():
            pytest.fail(f"{message} (required because CI or PHONEWARDEN_REQUIRE_PG=1)")
        pytest.skip(message)
    name = f"phonewarden_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _empty_pg_database(url: str) -> None:
    # Tests share the session database; each one starts from an empty public schema.
    with psycopg.connect(_libpq_dsn(url), autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'phonewarden.db'}"
    url: str = request.getfixturevalue("pg_url")
    _empty_pg_database(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def migrated_engine(engine: Engine) -> Engine:
    upgrade(engine)
    return engine
