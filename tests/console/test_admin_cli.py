"""`phonewarden admin ...` as an operator runs it."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner

from phonewarden.cli import app


@pytest.fixture
def runner(clean_env: Path) -> CliRunner:
    return CliRunner()


def test_create_prints_one_time_password_uri_and_qr_then_list_and_reset(
    runner: CliRunner, clean_env: Path
) -> None:
    created = runner.invoke(app, ["admin", "create", "alice"])
    assert created.exit_code == 0, created.output
    password = re.search(r"one-time password:\s+(\S+)", created.output)
    uri = re.search(r"(otpauth://\S+)", created.output)
    assert password and len(password.group(1)) == 20
    assert uri and pyotp.parse_uri(uri.group(1)).name == "alice"
    assert "▀" in created.output or "▄" in created.output  # the terminal QR code
    assert (clean_env / "var" / "console.key").is_file()
    listed = runner.invoke(app, ["admin", "list"])
    assert "alice\tadmin\tenrolment pending\tlast login never" in listed.output
    again = runner.invoke(app, ["admin", "create", "alice"])
    assert again.exit_code == 2 and "exists already" in again.output
    reset = runner.invoke(app, ["admin", "reset", "alice"])
    assert reset.exit_code == 0 and password.group(1) not in reset.output


def test_create_refuses_a_bad_name_and_role(runner: CliRunner) -> None:
    bad_name = runner.invoke(app, ["admin", "create", "Bad Name"])
    assert bad_name.exit_code == 2 and "must be 1-64" in bad_name.output
    bad_role = runner.invoke(app, ["admin", "create", "bob", "--role", "root"])
    assert bad_role.exit_code == 2 and "root" in bad_role.output
