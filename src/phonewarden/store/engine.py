"""Engines and sessions for SQLite (WAL, the default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from phonewarden.store.errors import StoreError

# A writer waits this long for another writer's lock before SQLite reports "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000

_POSTGRES_ALIASES = {"postgres", "postgresql", "postgresql+psycopg"}
_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}
# user:password@ at the start of a token, up to its last "@" (an unencoded "@" in a password included).
_PASSWORD_IN_URL = re.compile(r"((?:^|://|\s)[^:/@\s]*):(?!//)\S*@")


def mask_url(url: str | URL) -> str:
    """The URL with its password replaced by ***, also for strings SQLAlchemy cannot parse."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return _PASSWORD_IN_URL.sub(r"\1:***@", url)


def normalize_url(url: str) -> URL:
    """Parse a database URL and pin PostgreSQL to the psycopg 3 driver; StoreError if unusable."""
    if not url.strip():
        raise StoreError("database URL is empty: expected sqlite:///path/to/file.db or postgresql://...")
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise StoreError(f"database URL {mask_url(url)!r} cannot be parsed: {exc}") from None
    if parsed.drivername in _POSTGRES_ALIASES:
        parsed = parsed.set(drivername="postgresql+psycopg")
        if not parsed.database:
            raise StoreError(f"database URL {mask_url(parsed)!r} names no database (…/dbname)")
    elif parsed.drivername not in _SQLITE_DRIVERS:
        raise StoreError(
            f"database URL {mask_url(parsed)!r} uses unsupported backend {parsed.drivername!r}: "
            "use sqlite:///path/to/file.db or postgresql://user@host/dbname"
        )
    return parsed


def make_engine(url: str) -> Engine:
    """An Engine for `url`; SQLite connections get WAL, foreign keys and a busy timeout."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        # pre_ping: a PostgreSQL restart must not fail the next request with a dead pooled connection.
        return create_engine(parsed, pool_pre_ping=True)
    _create_sqlite_parent(parsed)
    engine = create_engine(parsed)
    event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


class RouterEngine:
    """The database a guard's API router reads: the one the settings name, made at first use, or the one
    handed to `use` (the console's own, tests). Call it to get the engine."""

    def __init__(self) -> None:
        self._engine: Engine | None = None

    def __call__(self) -> Engine:
        if self._engine is None:
            from phonewarden.settings import load_settings  # the kernel's settings, read only when needed

            self._engine = make_engine(load_settings().database_url)
        return self._engine

    def use(self, engine: Engine) -> None:
        self._engine = engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine`; objects stay readable after commit (no lazy reload surprises)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def _create_sqlite_parent(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    parent = Path(database).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"database URL {mask_url(url)!r}: cannot create directory {str(parent)!r}: {exc.strerror}"
        ) from None


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Per connection, because foreign_keys and busy_timeout are not stored in the database file.
    cursor = dbapi_connection.cursor()
    try:
        # WAL: readers never block the writer and the writer never blocks readers.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # NORMAL is durable across application crashes in WAL mode and much faster than FULL.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
