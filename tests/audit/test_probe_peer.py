"""The probe against emulated phones over real sockets (sipp UAS, socat TLS, vendor-like web UIs)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from phonewarden.output import decode_json_lines
from tests.audit.conftest import (
    GRANDSTREAM_OLD,
    SNOM_HARDENED,
    YEALINK_DEFAULT,
    YEALINK_LOCKED,
    YEALINK_VULNERABLE,
)
from tests.audit.phones import PhoneLab

pytestmark = pytest.mark.peer


def _by_target(records: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for record in records:
        if record["type"] == "check":
            found.setdefault(record["target"], {})[record["check"]] = record
    return found


@pytest.fixture(scope="module")
def first_run(
    lab: PhoneLab, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[dict[str, Any]], Path, float]:
    data_dir = tmp_path_factory.mktemp("probe-data")
    assert lab.phonewarden("db", "upgrade", data_dir=data_dir).returncode == 0
    started = time.monotonic()
    # The Yealink is named twice (address and /32): it must still get one credential attempt only.
    done = lab.probe(
        "198.51.100.8/29", "198.51.100.10/32", "--ghost-call", "--json", "--store", data_dir=data_dir
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr  # checks failed, every input was usable
    return decode_json_lines(done.stdout.encode()), data_dir, elapsed


def test_fingerprints_and_firmware_advisories(first_run: tuple[list[dict[str, Any]], Path, float]) -> None:
    checks = _by_target(first_run[0])
    assert set(checks) == {
        p.address
        for p in (YEALINK_VULNERABLE, SNOM_HARDENED, YEALINK_DEFAULT, YEALINK_LOCKED, GRANDSTREAM_OLD)
    }
    yealink = checks[YEALINK_VULNERABLE.address]["firmware-vulnerable"]
    assert (yealink["vendor"], yealink["model"], yealink["firmware"]) == ("yealink", "T46S", "66.84.0.20")
    assert yealink["status"] == "fail" and "66.84.0.53" in yealink["remediation"]
    grandstream = checks[GRANDSTREAM_OLD.address]["firmware-vulnerable"]
    assert grandstream["status"] == "fail" and "CVE-2020-5738" in grandstream["cves"]
    assert (
        checks[YEALINK_DEFAULT.address]["firmware-vulnerable"]["status"] == "pass"
    )  # 66.84.0.125 >= x.84.0.53
    snom = checks[SNOM_HARDENED.address]["firmware-outdated"]
    assert (snom["model"], snom["status"]) == ("D785", "pass")


def test_default_login_one_attempt_and_lockout(
    lab: PhoneLab, first_run: tuple[list[dict[str, Any]], Path, float]
) -> None:
    checks = _by_target(first_run[0])
    assert checks[YEALINK_DEFAULT.address]["default-admin-password"]["status"] == "fail"
    assert checks[GRANDSTREAM_OLD.address]["default-admin-password"]["status"] == "fail"
    assert checks[YEALINK_VULNERABLE.address]["default-admin-password"]["status"] == "pass"
    locked = checks[YEALINK_LOCKED.address]["default-admin-password"]
    assert locked["status"] == "unknown" and "locked" in locked["detail"]
    assert checks[SNOM_HARDENED.address]["default-admin-password"]["status"] == "pass"
    assert len(lab.attempts(YEALINK_VULNERABLE.address)) == 1
    assert len(lab.attempts(YEALINK_DEFAULT.address)) == 1
    assert lab.attempts(YEALINK_LOCKED.address) == []
    assert lab.attempts(SNOM_HARDENED.address) == []  # Snom: a 401 already answers the question


def test_a_second_run_sends_no_second_credential_attempt(
    lab: PhoneLab, first_run: tuple[list[dict[str, Any]], Path, float]
) -> None:
    before = len(lab.attempts(YEALINK_VULNERABLE.address))
    again = lab.probe(YEALINK_VULNERABLE.address, "--json", data_dir=first_run[1])
    login = _by_target(decode_json_lines(again.stdout.encode()))[YEALINK_VULNERABLE.address][
        "default-admin-password"
    ]
    assert login["status"] == "unknown" and "next one allowed" in login["detail"]
    assert len(lab.attempts(YEALINK_VULNERABLE.address)) == before == 1


def test_ghost_call_transport_ports_and_tls(first_run: tuple[list[dict[str, Any]], Path, float]) -> None:
    checks = _by_target(first_run[0])
    assert checks[YEALINK_VULNERABLE.address]["direct-ip-calls-accepted"]["status"] == "fail"
    assert checks[SNOM_HARDENED.address]["direct-ip-calls-accepted"]["status"] == "pass"
    assert checks[YEALINK_VULNERABLE.address]["telnet-ssh-enabled"]["status"] == "fail"
    assert checks[YEALINK_DEFAULT.address]["telnet-ssh-enabled"]["status"] == "pass"
    assert checks[YEALINK_VULNERABLE.address]["sip-transport-not-tls"]["status"] == "fail"
    snom_transport = checks[SNOM_HARDENED.address]["sip-transport-not-tls"]
    assert snom_transport["status"] == "unknown" and "snom D785" in snom_transport["detail"]
    assert checks[YEALINK_VULNERABLE.address]["web-ui-http"]["status"] == "fail"
    snom_web = checks[SNOM_HARDENED.address]["web-ui-http"]
    assert snom_web["status"] == "pass" and "redirects to HTTPS" in snom_web["detail"]


def test_summary_and_bounded_time(first_run: tuple[list[dict[str, Any]], Path, float]) -> None:
    records, _, elapsed = first_run
    summary = records[-1]
    assert summary["type"] == "summary" and summary["targets"] == 5
    assert summary["fail"] == sum(1 for r in records if r.get("status") == "fail")
    assert elapsed < 30


def test_a_whole_slash_24_in_under_a_minute(lab: PhoneLab, tmp_path: Path) -> None:
    started = time.monotonic()
    done = lab.probe("198.51.100.0/24", "--json", "--no-login", data_dir=tmp_path)
    elapsed = time.monotonic() - started
    targets = {r["target"] for r in decode_json_lines(done.stdout.encode()) if r["type"] == "check"}
    assert YEALINK_VULNERABLE.address in targets and len(targets) == 5
    assert elapsed < 60, f"/24 took {elapsed:.1f} s"
