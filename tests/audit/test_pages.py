"""The audit pages through the real console app: the fleet worst first from each device's latest run,
filters, and a device page with its checks, fixes, references and advisories."""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime
from html import unescape

import pytest
from fastapi.testclient import TestClient

from phonewarden.audit import demo, pages
from phonewarden.audit.checks_config import check_config
from phonewarden.audit.configs import read_config
from phonewarden.audit.results import CheckResult, Status
from phonewarden.audit.service import Outcome, store
from phonewarden.console.policy import Role
from phonewarden.store.models import Severity
from tests.audit.conftest import DATA
from tests.console import conftest as console_fixtures
from tests.console.conftest import console, enrolled, log_in

# The console's fixtures (a migrated database, the app over HTTPS, cheap argon2), reused, not copied.
cheap_argon2 = console_fixtures.cheap_argon2
settings = console_fixtures.settings
client = console_fixtures.client

INSECURE = str(DATA / "yealink" / "insecure.cfg")


def _check(
    target: str, check: str, status: Status, severity: Severity, vendor: str = "yealink"
) -> CheckResult:
    return CheckResult(
        time=time.time(), target=target, check=check, status=status, severity=severity,
        detail=f"{check} on {target}", remediation=f"fix {check}", vendor=vendor, model="T46S",
        firmware="66.86.0.15",
    )  # fmt: skip


def _store(http: TestClient, site: str, results: list[CheckResult]) -> None:
    store(console(http).engine, "probe", site, Outcome(results=results))


def _targets(html: str) -> list[str]:
    return re.findall(r'class="device" data-target="([^"]+)"', html)


def _seed_fleet(http: TestClient) -> None:
    F, P, U = Status.FAIL, Status.PASS, Status.UNKNOWN
    _store(http, "hq", [
        _check("192.0.2.1", "sip-transport-not-tls", F, Severity.HIGH),
        _check("192.0.2.1", "telnet-ssh-enabled", P, Severity.MEDIUM),
        _check("192.0.2.2", "web-ui-http", F, Severity.MEDIUM),
        _check("192.0.2.2", "srtp-not-required", F, Severity.MEDIUM),
        _check("192.0.2.2", "auto-update-disabled", F, Severity.MEDIUM),
        _check("192.0.2.3", "default-admin-password", F, Severity.CRITICAL),
    ])  # fmt: skip
    # A day later 192.0.2.3 got a new password: its latest result passes, the old critical is history.
    _store(http, "hq", [_check("192.0.2.3", "default-admin-password", P, Severity.CRITICAL)])
    _store(http, "branch", [
        _check("198.51.100.4", "sip-transport-not-tls", F, Severity.HIGH, "snom"),
        _check("198.51.100.4", "bluetooth-enabled", F, Severity.LOW, "snom"),
        _check("198.51.100.4", "usb-enabled", F, Severity.LOW, "snom"),
        _check("198.51.100.4", "direct-ip-calls-accepted", U, Severity.HIGH, "snom"),
    ])  # fmt: skip


def test_fleet_is_worst_first_from_each_devices_latest_run(client: TestClient) -> None:
    _seed_fleet(client)
    log_in(client, enrolled(client, "vera", Role.VIEWER))
    page = client.get("/audit/fleet")
    assert page.status_code == 200
    # High failures before any number of medium ones; among equals, more failures first; the fixed phone last.
    assert _targets(page.text) == ["198.51.100.4", "192.0.2.1", "192.0.2.2", "192.0.2.3"]
    row = re.search(r'data-target="192.0.2.3">(.*?)</tr>', page.text, re.S)
    assert row is not None and 'class="failing">0<' in row.group(1)  # the old critical is not counted
    snom = re.search(r'data-target="198.51.100.4">(.*?)</tr>', page.text, re.S)
    assert snom is not None and 'fail-high">1<' in snom.group(1) and 'fail-low">2<' in snom.group(1)
    assert "<td>1</td>" in snom.group(1)  # the unknown check is counted apart
    assert ("Audit fleet", "/audit/fleet") in client.app.state.guard_nav  # type: ignore[attr-defined]
    assert _targets(client.get("/audit/fleet", params={"site": "hq"}).text) == [
        "192.0.2.1", "192.0.2.2", "192.0.2.3",
    ]  # fmt: skip
    assert _targets(client.get("/audit/fleet", params={"vendor": "snom"}).text) == ["198.51.100.4"]
    nothing = client.get("/audit/fleet", params={"site": "nowhere"})
    assert _targets(nothing.text) == [] and "for this filter" in nothing.text
    assert client.get("/audit/fleet", params={"site": "x" * 300}).status_code == 422


def test_device_page_shows_checks_fixes_references_and_advisories(client: TestClient) -> None:
    config = read_config(DATA / "yealink" / "insecure.cfg")  # Yealink T46S on 66.84.0.20, defaults everywhere
    _store(client, "hq", check_config(config, time.time(), "hq"))
    log_in(client, enrolled(client, "vera", Role.VIEWER))
    fleet = client.get("/audit/fleet")
    assert _targets(fleet.text) == [INSECURE]
    link = re.search(r'<a href="(/audit/devices/[^"]+)">', fleet.text)
    assert link is not None and "%2F" in link.group(1)  # the path's slashes travel encoded
    page = client.get(unescape(link.group(1)))
    assert page.status_code == 200, page.text
    html = unescape(page.text)
    statuses = re.findall(r'<td class="status">(\w+)</td>', html)
    assert statuses and statuses == sorted(statuses, key=["fail", "unknown", "pass"].index)
    srtp = re.search(r'data-check="srtp-not-required">(.*?)</tr>', html, re.S)
    assert srtp is not None
    assert "set account.1.srtp_encryption = 2" in srtp.group(1)  # the fix, in the vendor's syntax
    assert "Telekom 2.1 SIPS instead of SIP, SRTP instead of RTP" in srtp.group(1)
    assert "BSI SYS.4.4.A11" in srtp.group(1) and "NIST SP 800-58" in srtp.group(1)
    assert 'data-advisory="yealink-sit-2019-t4xs"' in html and "x.84.0.53" in html
    assert "T46S" in html and "66.84.0.20" in html


def test_unknown_device_is_a_404_naming_it(client: TestClient) -> None:
    log_in(client, enrolled(client, "vera", Role.VIEWER))
    missing = client.get("/audit/devices/192.0.2.99")
    assert missing.status_code == 404 and "192.0.2.99" in missing.text


def test_pages_need_a_login(client: TestClient) -> None:
    _seed_fleet(client)
    anonymous = client.get("/audit/fleet", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
    assert client.get("/audit/devices/192.0.2.1", follow_redirects=False).status_code == 303


def test_every_page_of_the_demo_fleet_renders(client: TestClient) -> None:
    demo.load(console(client).engine, random.Random(8), datetime.now(UTC))
    log_in(client, enrolled(client, "vera", Role.VIEWER))
    fleet = client.get("/audit/fleet")
    links = re.findall(r'<a href="(/audit/devices/[^"]+)">', fleet.text)
    assert len(links) == 10
    for link in links:
        page = client.get(unescape(link))
        assert page.status_code == 200 and 'id="checks"' in page.text, link


def test_the_next_devices_link_walks_the_fleet_worst_first_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed_fleet(client)
    log_in(client, enrolled(client, "vera", Role.VIEWER))
    whole = _targets(client.get("/audit/fleet").text)
    monkeypatch.setattr(pages, "PAGE_SIZE", 3)
    first = client.get("/audit/fleet")
    assert _targets(first.text) == whole[:3] and "(the worst 3 shown)" in first.text
    link = re.search(r'id="next" href="([^"]+)"', first.text)
    assert link is not None
    second = client.get(unescape(link.group(1)))
    assert _targets(second.text) == whole[3:] and 'id="next"' not in second.text
    hq = client.get("/audit/fleet", params={"site": "hq"})
    hq_link = re.search(r'id="next" href="([^"]+)"', hq.text)
    assert hq_link is None  # three hq phones fill one page exactly
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    hq = client.get("/audit/fleet", params={"site": "hq"})
    hq_link = re.search(r'id="next" href="([^"]+)"', hq.text)
    assert hq_link is not None and "site=hq" in hq_link.group(1)  # the filter travels with the page
    assert _targets(client.get(unescape(hq_link.group(1))).text) == ["192.0.2.3"]
    foreign = client.get("/audit/fleet", params={"before": "bm90IGEgY3Vyc29y"})
    assert foreign.status_code == 422 and "before" in foreign.text
