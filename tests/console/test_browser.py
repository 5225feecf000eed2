"""The console in headless Chromium, as a new user meets it: first screen, admin create, enrol, overview.

Runs the real `phonewarden serve` and `phonewarden admin create`/`demo` processes; screenshots of each
page are kept in the test's tmp dir (the path is printed) or in $PHONEWARDEN_TEST_ARTEFACTS.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.conftest import free_port, free_udp_and_tcp_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
pytestmark = pytest.mark.peer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHONEWARDEN_")}
    env.update(PHONEWARDEN_DATA_DIR=str(tmp_path / "var"), PHONEWARDEN_HEP__PORT=str(free_udp_and_tcp_port()))
    process = subprocess.Popen(
        [sys.executable, "-m", "phonewarden", "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, "phonewarden serve exited"
                time.sleep(0.1)
        yield base, env, tmp_path
    finally:
        process.terminate()
        process.wait(timeout=10)


def _cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "phonewarden", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _playwright() -> Any:
    assert CHROMIUM.exists(), "Chromium missing: apt-get install chromium (Debian package)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright missing: pip install playwright (it drives Debian's chromium)")
    return sync_playwright()


def _screenshots(tmp_path: Path, name: str) -> Path:
    shots = Path(os.environ.get("PHONEWARDEN_TEST_ARTEFACTS", tmp_path / "screenshots")) / name
    shots.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {shots}")
    return shots


def test_new_admin_enrols_sees_the_overview_and_logs_out(
    server: tuple[str, dict[str, str], Path], tmp_path: Path
) -> None:
    base, env, cwd = server
    shots = _screenshots(tmp_path, "first-use")
    with _playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(f"{base}/")
        assert "phonewarden admin create" in page.locator("#first-admin").inner_text()
        page.screenshot(path=shots / "1-first-screen.png", full_page=True)

        created = _cli(env, cwd, "admin", "create", "alice")
        one_time = re.search(r"one-time password:\s+(\S+)", created)
        uri = re.search(r"(otpauth://\S+)", created)
        assert one_time and uri, created
        totp = pyotp.parse_uri(uri.group(1))
        sample = _cli(env, cwd, "demo")
        assert "400 findings" in sample
        failing = re.search(r"audit: .*?(\d+) failing", sample)
        assert failing, sample

        page.goto(f"{base}/login")
        page.fill("#name", "alice")
        page.fill("#password", one_time.group(1))
        page.click("#submit")
        assert page.url.endswith("/enrol")
        page.screenshot(path=shots / "2-enrol.png", full_page=True)
        new_password = "Quiet-Harbour-Lamp-42"
        page.fill("#new_password", new_password)
        page.fill("#repeat", new_password)
        page.fill("#code", totp.now())
        page.click("#submit")
        assert page.locator("#recovery-codes li").count() == 10
        page.click("#continue")
        assert page.locator("#tile-bans .number").inner_text() == "12"
        assert page.locator("#tile-audit .number").inner_text() == failing.group(1)
        page.wait_for_selector("#chart canvas")  # uPlot drew the chart (CSP allowed the vendored script)
        page.screenshot(path=shots / "3-overview.png", full_page=True)
        page.click("#tile-bans")
        assert page.locator("#list tr").count() == 13
        page.screenshot(path=shots / "4-bans.png", full_page=True)
        first_address = page.locator("#list tr:nth-child(2) td:first-child").inner_text()
        page.locator("#list tr:nth-child(2) button").click()  # unban, as admin
        assert page.locator("#list tr").count() == 12
        assert first_address not in page.locator("#list").inner_text()
        page.click("#logout")
        assert page.url.endswith("/login")
        page.goto(f"{base}/overview")
        assert page.url.endswith("/login")  # logged out for real

        page.fill("#name", "alice")
        page.fill("#password", new_password)
        page.click("#submit")
        assert page.url.endswith("/login/code")
        page.fill("#code", totp.at(time.time() + 30))  # the enrolment's code is not accepted twice
        page.click("#submit")
        assert page.url.endswith("/overview")
        assert page.locator("#who").inner_text() == "alice (admin)"
        page.goto(f"{base}/findings")
        assert page.locator("#findings tr").count() == 101  # header + one page
        page.screenshot(path=shots / "5-findings.png", full_page=True)
        browser.close()


def _push_range_dialling(base: str, account: str) -> None:
    """What a PBX does after each call: POST the CDR. Ten numbers of one foreign range make a high alert."""
    end = datetime.now(UTC) - timedelta(minutes=5)
    for index in range(10):
        cdr = {
            "account": account, "destination": f"+4420794600{index:02d}",
            "start": (end - timedelta(seconds=70)).isoformat(),
            "end": (end + timedelta(seconds=index)).isoformat(), "billsec": "60", "call_id": f"range-{index}",
        }  # fmt: skip
        request = urllib.request.Request(
            f"{base}/api/v1/fraud/cdr", data=json.dumps(cdr).encode(),
            headers={"content-type": "application/json"}, method="POST",
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200


def test_operator_bans_unbans_acknowledges_and_every_page_renders(
    server: tuple[str, dict[str, str], Path], tmp_path: Path
) -> None:
    base, env, cwd = server
    shots = _screenshots(tmp_path, "pages")
    created = _cli(env, cwd, "admin", "create", "olga", "--role", "operator")
    one_time = re.search(r"one-time password:\s+(\S+)", created)
    uri = re.search(r"(otpauth://\S+)", created)
    assert one_time and uri, created
    totp = pyotp.parse_uri(uri.group(1))
    _cli(env, cwd, "demo")
    _push_range_dialling(base, "acct-range-7")
    with _playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        refused: list[str] = []
        page.on(
            "console",
            lambda message: refused.append(message.text) if "Content Security" in message.text else None,
        )
        page.goto(f"{base}/login")
        page.fill("#name", "olga")
        page.fill("#password", one_time.group(1))
        page.click("#submit")
        password = "Copper-Lantern-Field-93"
        page.fill("#new_password", password)
        page.fill("#repeat", password)
        page.fill("#code", totp.now())
        page.click("#submit")
        page.click("#continue")
        assert page.url.endswith("/overview")
        assert page.locator("#who").inner_text() == "olga (operator)"

        # Ban by hand, see it listed, unban it.
        page.goto(f"{base}/shield/bans")
        page.fill("#ban-address", "198.51.100.250")
        page.fill("#ban-minutes", "30")
        page.fill("#ban-reason", "password guessing seen in the PBX log")
        page.click("#ban-submit")
        row = page.locator('tr.ban[data-address="198.51.100.250"]')
        assert "manual by olga" in row.inner_text()
        page.screenshot(path=shots / "shield-manual-ban.png", full_page=True)
        row.locator("button").click()
        assert page.locator("#unbanned").inner_text() == "Unbanned 198.51.100.250."
        assert page.locator('tr.ban[data-address="198.51.100.250"]').count() == 0

        # The pushed CDRs raised a high alert that waits for a person: acknowledge it.
        page.goto(f"{base}/fraud/alerts")
        alert = page.locator('tr.alert[data-account="acct-range-7"]')
        assert "number-range" in alert.inner_text()
        page.screenshot(path=shots / "fraud-alerts.png", full_page=True)
        alert.locator("button").click()
        assert "Acknowledged the alert of acct-range-7" in page.locator("#acknowledged").inner_text()

        # Every page in the navigation renders under the CSP; each is kept as a screenshot.
        links = page.locator("nav a").evaluate_all("links => links.map(link => link.getAttribute('href'))")
        assert len(links) >= 8, links
        for href in links:
            response = page.goto(f"{base}{href}")
            assert response is not None and response.status == 200, href
            assert page.locator("h1").count() >= 1, href
            page.screenshot(path=shots / f"{href.strip('/').replace('/', '-') or 'home'}.png", full_page=True)
        page.goto(f"{base}/docs")
        page.wait_for_selector(".opblock", timeout=30_000)  # Swagger UI drew the operations
        page.screenshot(path=shots / "api-docs.png", full_page=True)
        assert refused == [], refused
        browser.close()
