from pathlib import Path

from typer.testing import CliRunner

from phonewarden import __version__, _accel
from phonewarden.cli import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"phonewarden {__version__} ({_accel.status})"


def test_help_lists_the_commands(clean_env: Path) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "db", "wire"):
        assert command in result.output


def test_bad_config_file_stops_with_exit_2(clean_env: Path) -> None:
    (clean_env / "phonewarden.toml").write_text("[hep]\nport = -1\n")
    result = runner.invoke(app, ["db", "url"])
    assert result.exit_code == 2
    assert "hep.port (got -1)" in result.output


def test_db_subcommand_uses_the_settings(clean_env: Path) -> None:
    (clean_env / "phonewarden.toml").write_text('data_dir = "elsewhere"\n')
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (clean_env / "elsewhere" / "phonewarden.db").is_file()
