from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from phonewarden.store.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    make_engine,
    mask_url,
    normalize_url,
    session_factory,
)
from phonewarden.store.errors import StoreError


def _sqlite_engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'pw.db'}")


def test_sqlite_file_is_in_wal_mode_with_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    engine = _sqlite_engine(tmp_path)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()


def test_sqlite_foreign_keys_are_enforced(tmp_path: Path) -> None:
    engine = _sqlite_engine(tmp_path)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id))")
    with pytest.raises(Exception, match="FOREIGN KEY constraint failed"), engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO child (parent_id) VALUES (42)")
    engine.dispose()


def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    database = tmp_path / "var" / "lib" / "phonewarden.db"
    engine = make_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    engine.dispose()
    assert database.is_file()


def test_unwritable_sqlite_directory_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="cannot create directory"):
        make_engine(f"sqlite:///{blocker / 'sub' / 'pw.db'}")


def test_sqlite_writer_and_reader_do_not_block_each_other(tmp_path: Path) -> None:
    # A reader keeps a read transaction open while a writer commits: with a rollback journal the
    # commit would wait for the reader and fail with "database is locked"; WAL lets both proceed.
    engine = _sqlite_engine(tmp_path)
    with engine.begin() as setup:
        setup.exec_driver_sql("CREATE TABLE events (n INTEGER)")
        setup.exec_driver_sql("INSERT INTO events VALUES (1)")
    with engine.connect() as reader, engine.connect() as writer:
        writer.exec_driver_sql("PRAGMA busy_timeout=200")  # fail fast if the writer were blocked
        reader.exec_driver_sql("BEGIN")
        assert reader.exec_driver_sql("SELECT count(*) FROM events").scalar() == 1

        writer.exec_driver_sql("INSERT INTO events VALUES (2)")
        writer.commit()

        assert reader.exec_driver_sql("SELECT count(*) FROM events").scalar() == 1  # its snapshot
        reader.commit()
        assert reader.exec_driver_sql("SELECT count(*) FROM events").scalar() == 2
        writer.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "postgres://pw:secret@db.example/phonewarden",
        "postgresql://pw:secret@db.example/phonewarden",
        "postgresql+psycopg://pw:secret@db.example/phonewarden",
    ],
)
def test_postgresql_urls_use_psycopg3(url: str) -> None:
    engine = make_engine(url)  # creating an engine does not connect
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.dialect.driver == "psycopg"
    assert engine.url.database == "phonewarden"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://pw:s3cr3t@db.example/phonewarden", "unsupported backend 'mysql'"),
        ("postgresql://pw:s3cr3t@db.example:notaport/phonewarden", "cannot be parsed"),
        ("not a url with pw:s3cr3t@", "cannot be parsed"),
        ("postgresql://pw:s3cr3t@db.example", "names no database"),
        ("postgresql+psycopg2://pw:s3cr3t@db.example/phonewarden", "unsupported backend"),
    ],
)
def test_bad_url_names_problem_and_masks_password(url: str, problem: str) -> None:
    with pytest.raises(StoreError) as caught:
        make_engine(url)
    message = str(caught.value)
    assert problem in message
    assert "s3cr3t" not in message


def test_bad_url_message_shows_masked_url() -> None:
    with pytest.raises(StoreError, match=r"'mysql://pw:\*\*\*@db.example/phonewarden'"):
        make_engine("mysql://pw:s3cr3t@db.example/phonewarden")


def test_empty_url_is_refused() -> None:
    with pytest.raises(StoreError, match="database URL is empty"):
        make_engine("  ")


def test_mask_url_hides_password_in_strings_and_urls() -> None:
    assert mask_url("postgresql://pw:s3cr3t@host/db") == "postgresql://pw:***@host/db"
    assert mask_url(normalize_url("postgres://pw:s3cr3t@host/db")) == "postgresql+psycopg://pw:***@host/db"
    assert mask_url("sqlite:///var/phonewarden.db") == "sqlite:///var/phonewarden.db"


def test_session_factory_binds_engine_and_keeps_objects_after_commit(engine: Engine) -> None:
    make_session = session_factory(engine)
    with make_session() as session:
        assert session.get_bind() is engine
        assert session.execute(text("SELECT 1")).scalar() == 1
    assert make_session.kw["expire_on_commit"] is False


def test_router_engine_uses_the_settings_database_until_handed_another(clean_env: Path) -> None:
    from phonewarden.settings import load_settings
    from phonewarden.store.engine import RouterEngine, make_engine

    slot = RouterEngine()
    first = slot()
    assert slot() is first and str(first.url) == str(make_engine(load_settings().database_url).url)
    other = make_engine(f"sqlite:///{clean_env}/other.db")
    slot.use(other)
    assert slot() is other
