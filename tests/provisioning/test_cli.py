"""`phonewarden provision ...` as an operator runs it: keygen, sites, devices, lifecycle, render, errors."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from phonewarden.cli import app
from tests.conftest import REPO, free_port
from tests.provisioning.pki import CA

MAC = "0015654c4c26"
UA = "Yealink SIP-T46S 66.86.0.15 00:15:65:4c:4c:26"
PHONEWARDEN = str(REPO / ".venv" / "bin" / "phonewarden")


@pytest.fixture
def env(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "PHONEWARDEN_DATA_DIR": str(clean_env / "data"),
        "PHONEWARDEN_DATABASE_URL": f"sqlite:///{clean_env / 'pw.db'}",
        "PHONEWARDEN_PROVISIONING__ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def run(*argv: str, code: int = 0) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["provision", *argv])
    assert result.exit_code == code, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_a_device_from_enrollment_to_retirement(env: dict[str, str], tmp_path: Path) -> None:
    [site] = run(
        "site", "add", "hq", "--network", "10.20.0.0/16", "--max-fetches", "2", "--require-client-cert"
    )
    assert (site["type"], site["networks"], site["max_fetches"], site["require_client_cert"]) == (
        "provisioning_site", ["10.20.0.0/16"], 2, True)  # fmt: skip
    [added] = run("device", "add", "00:15:65:4C:4C:26", "--vendor", "yealink", "--model", "T46S",
                  "--site", "hq", "--line", "2001:Alice Example", "--owner", "alice")  # fmt: skip
    assert added["lines"] == [{"line": 1, "username": "2001", "display_name": "Alice Example"}]
    assert "password" not in json.dumps(added).lower()
    assert [d["mac"] for d in run("device", "list")] == [MAC]
    [shown] = run("device", "show", MAC, "--reveal")
    old = shown["sip_passwords"]["2001"]
    files = run("render", MAC, "--out", str(tmp_path / "out"))
    assert sorted(Path(f["file"]).name for f in files) == [f"{MAC}.cfg", "y000000000000.cfg"]
    rendered = (tmp_path / "out" / f"{MAC}.cfg").read_text()
    assert f"account.1.password = {old}" in rendered
    assert (tmp_path / "out" / f"{MAC}.cfg").stat().st_mode & 0o777 == 0o600
    [retired] = run("device", "retire", MAC, "--reason", "returned")
    assert (retired["state"], retired["wipe_pending"]) == ("retired", True)
    assert run("device", "show", MAC, "--reveal")[0]["sip_passwords"]["2001"] != old
    [moved] = run("device", "reassign", MAC, "--owner", "bob")
    assert moved["owner"] == "bob" and run("device", "open", MAC, "--hours", "2")[0]["fetches"] == 0
    assert run("device", "approve", MAC, "--by", "bob")[0]["approved_version"] == moved["config_version"]


def test_mistakes_exit_2_and_name_the_problem(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["provision", "device", "add", MAC, "--vendor", "yealink", "--model",
                                      "T46S", "--site", "nowhere", "--line", "2001"])  # fmt: skip
    assert result.exit_code == 2 and "no site 'nowhere'" in result.stderr
    result = CliRunner().invoke(app, ["provision", "site", "add", "x", "--network", "10.0.0.300/8"])
    assert result.exit_code == 2 and "'10.0.0.300/8' is not an IP network" in result.stderr
    result = CliRunner().invoke(app, ["provision", "device", "show", "zz"])
    assert result.exit_code == 2 and "'zz' is not a MAC" in result.stderr


def test_the_installed_command_refuses_to_run_without_a_key_or_certificate(env: dict[str, str]) -> None:
    base = {k: v for k, v in os.environ.items() if k != "PHONEWARDEN_PROVISIONING__ENCRYPTION_KEY"}
    key = CliRunner().invoke(app, ["provision", "keygen"]).stdout.strip()
    Fernet(key.encode())  # a usable key
    refused = subprocess.run([PHONEWARDEN, "provision", "device", "list"], capture_output=True, text=True,
                             env=base, timeout=60)  # fmt: skip
    assert refused.returncode == 2 and "provision keygen" in refused.stderr
    served = subprocess.run([PHONEWARDEN, "provision", "serve", "--port", "1"], capture_output=True,
                            text=True, env={**base, "PHONEWARDEN_PROVISIONING__ENCRYPTION_KEY": key},
                            timeout=60)  # fmt: skip
    assert served.returncode == 2 and "certificate and private_key are required" in served.stderr


@pytest.mark.peer
def test_provision_serve_serves_over_https_and_keeps_the_fetch_count_across_a_stop(
    env: dict[str, str], tmp_path: Path
) -> None:
    ca = CA(tmp_path, "server ca")
    server = ca.issue("server", "127.0.0.1", server_ip="127.0.0.1")
    port = free_port()
    run("site", "add", "hq", "--network", "127.0.0.0/8", "--max-fetches", "5")
    run("device", "add", MAC, "--vendor", "yealink", "--model", "T46S", "--site", "hq", "--line", "2001")
    serve_env = {**os.environ, "PHONEWARDEN_PROVISIONING__PORT": str(port),
                 "PHONEWARDEN_PROVISIONING__CERTIFICATE": str(server.cert),
                 "PHONEWARDEN_PROVISIONING__PRIVATE_KEY": str(server.key)}  # fmt: skip
    process = subprocess.Popen([PHONEWARDEN, "provision", "serve"], env=serve_env, stderr=subprocess.PIPE)
    try:
        statuses: list[tuple[int, bool]] = []
        context = ssl.create_default_context(cafile=str(ca.issued.cert))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not statuses:
            try:
                connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=5)
                for _ in range(2):
                    connection.request("GET", f"/{MAC}.cfg", headers={"User-Agent": UA})
                    response = connection.getresponse()
                    statuses.append((response.status, b"account.1.password" in response.read()))
                connection.close()
            except ConnectionRefusedError:
                time.sleep(0.2)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    assert statuses == [(200, True), (200, True)], stderr.decode()[-2000:]
    assert run("device", "show", MAC)[0]["fetches"] == 2
