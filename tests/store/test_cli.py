from __future__ import annotations

from types import SimpleNamespace

from typer.testing import CliRunner

from phonewarden.store.cli import EXIT_NOT_AT_HEAD, EXIT_STORE_ERROR, app
from phonewarden.store.migrate import current_revision, head_revision, upgrade

runner = CliRunner()


def _invoke(url: str | None, *args: str) -> tuple[int, str, str]:
    settings = SimpleNamespace(database_url=url) if url is not None else None
    result = runner.invoke(app, list(args), obj=settings)
    return result.exit_code, result.stdout, result.stderr


def test_upgrade_prints_from_and_to_then_reports_already_at_head(db_url: str) -> None:
    code, out, _ = _invoke(db_url, "upgrade")
    assert (code, out.strip()) == (0, f"empty → {head_revision()}")
    assert current_revision(db_url) == head_revision()
    code, out, _ = _invoke(db_url, "upgrade")
    assert (code, out.strip()) == (0, f"already at head {head_revision()}")


def test_current_exits_1_when_behind_and_0_at_head(db_url: str) -> None:
    code, out, err = _invoke(db_url, "current")
    assert code == EXIT_NOT_AT_HEAD
    assert "current: empty" in out and f"head:    {head_revision()}" in out
    assert "expects" in err
    upgrade(db_url)
    code, out, _ = _invoke(db_url, "current")
    assert code == 0
    assert f"current: {head_revision()}" in out


def test_url_masks_the_password_and_shows_the_driver() -> None:
    code, out, _ = _invoke("postgres://pw:s3cr3t@db.example/phonewarden", "url")
    assert (code, out.strip()) == (0, "postgresql+psycopg://pw:***@db.example/phonewarden")


def test_bad_url_exits_2_with_the_problem_and_no_password() -> None:
    code, out, err = _invoke("mysql://pw:s3cr3t@db.example/phonewarden", "upgrade")
    assert code == EXIT_STORE_ERROR
    assert "unsupported backend 'mysql'" in err
    assert "s3cr3t" not in out + err


def test_missing_settings_is_a_clear_error() -> None:
    code, _, err = _invoke(None, "current")
    assert code == EXIT_STORE_ERROR
    assert "no database URL" in err
