"""The console in headless Chromium, as a new user meets it: first screen, admin create, enrol, overview.

Runs the real `phonewarden serve` and `phonewarden admin create`/`demo` processes; screenshots of each
page are kept in the test's tmp dir (the path is printed) or in $PHONEWARDEN_TEST_ARTEFACTS.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from tests.conftest import free_port, free_udp_and_tcp_port

CHROMIUM = Path("/usr/bin/chromium")
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


def test_new_admin_enrols_sees_the_overview_and_logs_out(
    server: tuple[str, dict[str, str], Path], tmp_path: Path
) -> None:
    assert CHROMIUM.exists(), "Chromium missing: apt-get install chromium (Debian package)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright missing: pip install playwright (it drives Debian's chromium)")

    base, env, cwd = server
    shots = Path(os.environ.get("PHONEWARDEN_TEST_ARTEFACTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {shots}")
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=args)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(f"{base}/")
        assert "phonewarden admin create" in page.locator("#first-admin").inner_text()
        page.screenshot(path=shots / "1-first-screen.png", full_page=True)

        created = _cli(env, cwd, "admin", "create", "alice")
        one_time = re.search(r"one-time password:\s+(\S+)", created)
        uri = re.search(r"(otpauth://\S+)", created)
        assert one_time and uri, created
        totp = pyotp.parse_uri(uri.group(1))
        assert "400 findings" in _cli(env, cwd, "demo")

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
        assert page.locator("#tile-audit .number").inner_text() == "3"
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
