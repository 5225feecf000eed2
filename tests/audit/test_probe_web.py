"""Default-login etiquette against the vendor-like web UIs of tools/audit/fake_phone_web.py on loopback."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from phonewarden.audit.http_client import HttpResponse
from phonewarden.audit.probe_web import LoginLedger, check_default_login, vendor_from_page
from tests.audit.phones import TOOLS
from tests.conftest import free_port

Start = Callable[..., tuple[int, Path]]


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Start]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> tuple[int, Path]:
        port, log = free_port(), tmp_path / f"log-{len(processes)}.jsonl"
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(TOOLS / "fake_phone_web.py"),
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--log",
                    str(log),
                    *args,
                ]
            )
        )
        deadline = time.monotonic() + 5
        while asyncio.run(_get(port)) is None:
            assert time.monotonic() < deadline, "fake web UI did not start"
        return port, log

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=5)


async def _get(port: int) -> HttpResponse | None:
    from phonewarden.audit.http_client import request

    return await request("127.0.0.1", port, "GET", "/", use_tls=False, timeout=0.5)


def _attempts(log: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_yealink_gets_exactly_one_attempt_even_when_asked_twice(web: Start, tmp_path: Path) -> None:
    port, log = web("--vendor", "yealink", "--password", "changed-Pw-1", "--lockout", "3")
    ledger = LoginLedger(900, tmp_path / "ledger.json")

    async def twice() -> list[str]:
        results = await asyncio.gather(
            *(check_default_login("127.0.0.1", port, False, "yealink", ledger, 2) for _ in range(2))
        )
        return sorted(r.status for r in results)

    assert asyncio.run(twice()) == ["default-refused", "not-tried"]
    assert [a["outcome"] for a in _attempts(log)] == ["refused"]
    fresh_ledger = LoginLedger(900, tmp_path / "ledger.json")  # the next run reads the hold-off from disk
    assert (
        asyncio.run(check_default_login("127.0.0.1", port, False, "yealink", fresh_ledger, 2)).attempts == 0
    )
    assert len(_attempts(log)) == 1


def test_locked_yealink_is_not_tried(web: Start) -> None:
    port, log = web("--vendor", "yealink", "--password", "admin", "--lockout", "3", "--failures", "3")
    result = asyncio.run(check_default_login("127.0.0.1", port, False, "yealink", LoginLedger(0), 2))
    assert result.status == "not-tried" and "locked" in result.detail and _attempts(log) == []


def test_default_accepted_by_yealink_and_grandstream(web: Start) -> None:
    for vendor in ("yealink", "grandstream"):
        port, log = web("--vendor", vendor, "--password", "admin")
        result = asyncio.run(check_default_login("127.0.0.1", port, False, vendor, LoginLedger(0), 2))
        assert (result.status, result.attempts) == ("default-works", 1)
        assert [a["password"] for a in _attempts(log)] == ["admin"]


def test_snom_needs_no_credential_to_answer(web: Start) -> None:
    open_port, open_log = web("--vendor", "snom")
    locked_port, _ = web("--vendor", "snom", "--password", "set")
    assert (
        asyncio.run(check_default_login("127.0.0.1", open_port, False, "snom", LoginLedger(0), 2)).status
        == "no-password"
    )
    assert (
        asyncio.run(check_default_login("127.0.0.1", locked_port, False, "snom", LoginLedger(0), 2)).status
        == "default-refused"
    )
    assert _attempts(open_log) == []


def test_vendor_from_landing_page() -> None:
    assert (
        vendor_from_page(HttpResponse(200, {"server": "lighttpd"}, "<title>Grandstream GXP1625</title>"))
        == "grandstream"
    )
    assert vendor_from_page(HttpResponse(200, {}, "<title>router</title>")) is None
    assert vendor_from_page(None) is None
