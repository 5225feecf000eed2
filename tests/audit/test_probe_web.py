"""Default-login etiquette against the vendor-like web UIs of tools/audit/fake_phone_web.py on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from phonewarden.audit.http_client import HttpResponse, request
from phonewarden.audit.probe import probe_all
from phonewarden.audit.probe_checks import check_host
from phonewarden.audit.probe_web import LoginLedger, LoginResult, check_default_login, vendor_from_page
from phonewarden.audit.settings import AuditSettings
from tests.audit.phones import TOOLS
from tests.conftest import free_port

Start = Callable[..., tuple[int, Path]]


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Start]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(*args: str, bind: str = "127.0.0.1", port: int = 0) -> tuple[int, Path]:
        port, log = port or free_port(), tmp_path / f"log-{len(processes)}.jsonl"
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(TOOLS / "fake_phone_web.py"),
                    "--bind",
                    bind,
                    "--port",
                    str(port),
                    "--log",
                    str(log),
                    *args,
                ]
            )
        )
        deadline = time.monotonic() + 5
        while asyncio.run(_get(port, bind)) is None:
            assert time.monotonic() < deadline, "fake web UI did not start"
        return port, log

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=5)


async def _get(port: int, host: str = "127.0.0.1") -> HttpResponse | None:
    return await request(host, port, "GET", "/", use_tls=False, timeout=0.5)


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


def _login(port: int, vendor: str, ledger: LoginLedger | None = None) -> LoginResult:
    return asyncio.run(check_default_login("127.0.0.1", port, False, vendor, ledger or LoginLedger(0), 2))


def test_poly_default_admin_456_found_with_one_basic_auth_attempt(web: Start) -> None:
    port, log = web("--vendor", "poly", "--password", "456")
    landing = asyncio.run(_get(port))
    assert vendor_from_page(landing) == "poly"
    result = _login(port, "poly")
    assert (result.status, result.attempts) == ("default-works", 1) and "Admin/456" in result.detail
    assert [(a["user"], a["password"], a["outcome"]) for a in _attempts(log)] == [
        ("Admin", "456", "accepted")
    ]


def test_poly_with_changed_password_is_tried_once_per_holdoff(web: Start, tmp_path: Path) -> None:
    port, log = web("--vendor", "poly", "--password", "changed-Pw-1")
    ledger = LoginLedger(900, tmp_path / "ledger.json")

    async def twice() -> list[LoginResult]:
        return list(
            await asyncio.gather(
                *(check_default_login("127.0.0.1", port, False, "poly", ledger, 2) for _ in range(2))
            )
        )

    results = asyncio.run(twice())
    assert sorted((r.status, r.attempts) for r in results) == [("default-refused", 1), ("not-tried", 0)]
    assert [a["outcome"] for a in _attempts(log)] == ["refused"]
    assert _login(port, "poly", LoginLedger(900, tmp_path / "ledger.json")).attempts == 0
    assert len(_attempts(log)) == 1


def test_poly_flow_missing_is_not_a_pass(web: Start) -> None:
    port, log = web("--vendor", "fanvil")  # answers 200 on any GET: no Basic-auth page to test
    result = _login(port, "poly")
    assert (result.status, result.attempts) == ("inconclusive", 0) and "HTTP 200" in result.detail
    assert _attempts(log) == []


def test_fanvil_is_recognised_but_never_sent_a_credential(web: Start) -> None:
    port, log = web("--vendor", "fanvil", "--password", "admin")  # even where admin/admin would work
    assert vendor_from_page(asyncio.run(_get(port))) == "fanvil"
    result = _login(port, "fanvil")
    assert (result.status, result.attempts) == ("not-tried", 0) and "undocumented" in result.detail
    assert _attempts(log) == []


def test_fake_fanvil_counts_any_credential_it_is_sent(web: Start) -> None:
    """The emulator must see a credential if one were sent, or the assertion above would prove nothing."""
    port, log = web("--vendor", "fanvil", "--password", "admin")
    posted = asyncio.run(
        request(
            "127.0.0.1", port, "POST", "/cgi-bin/login", use_tls=False, timeout=2, body="user=admin&pwd=admin"
        )
    )
    assert posted is not None
    assert [(a["user"], a["password"], a["outcome"]) for a in _attempts(log)] == [
        ("admin", "admin", "accepted")
    ]


def test_probe_reports_poly_fail_and_fanvil_unknown_over_port_80(web: Start, tmp_path: Path) -> None:
    """The whole probe path: landing page -> vendor -> login check -> `default-admin-password` record."""
    pid = os.getpid()
    poly, fanvil = (f"127.{100 + pid % 100}.{pid // 100 % 250}.{n}" for n in (10, 11))  # this run's own
    _, poly_log = web("--vendor", "poly", "--password", "456", bind=poly, port=80)
    _, fanvil_log = web("--vendor", "fanvil", "--password", "admin", bind=fanvil, port=80)
    settings = AuditSettings(timeout_seconds=0.5)
    facts = asyncio.run(probe_all([poly, fanvil], settings, LoginLedger(900, tmp_path / "ledger.json")))
    verdicts = {
        r.target: (r.vendor, r.status.value, r.detail)
        for f in facts
        for r in check_host(f)
        if r.check == "default-admin-password"
    }
    assert verdicts[poly][:2] == ("poly", "fail") and "Admin/456 accepted" in verdicts[poly][2]
    assert verdicts[fanvil][:2] == ("fanvil", "unknown") and "undocumented" in verdicts[fanvil][2]
    assert [a["user"] for a in _attempts(poly_log)] == ["Admin"] and _attempts(fanvil_log) == []
