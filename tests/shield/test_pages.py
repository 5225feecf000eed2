"""The shield's console pages through the real console app: roles, CSRF, audit, evidence, sources, chart."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from phonewarden.console.models import ConsoleAudit
from phonewarden.console.policy import Role
from phonewarden.settings import load_settings
from phonewarden.shield import live
from phonewarden.shield.bans import BanStore
from phonewarden.shield.enforce import DryRunEnforcer
from phonewarden.shield.pages import top_sources
from phonewarden.shield.service import ShieldService
from phonewarden.store.engine import session_factory
from phonewarden.store.findings import add_finding
from phonewarden.store.models import Guard, Severity
from tests.console import conftest as console_fixtures
from tests.console.conftest import console, csrf_of, enrolled, log_in

# The console's fixtures (a migrated database, the app over HTTPS, cheap argon2), reused, not copied.
cheap_argon2 = console_fixtures.cheap_argon2
settings = console_fixtures.settings
client = console_fixtures.client

BANNED = "203.0.113.9"
IPV6_BANNED = "2001:db8:1:2::/64"


def _audit(http: TestClient) -> list[tuple[str, str, str, str]]:
    with session_factory(console(http).engine)() as session:
        rows = session.execute(
            select(ConsoleAudit.actor, ConsoleAudit.action, ConsoleAudit.target, ConsoleAudit.outcome)
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]


def _finding(http: TestClient, subject: str, kind: str, when: datetime, samples: list[str]) -> None:
    with session_factory(console(http).engine).begin() as session:
        add_finding(
            session, time=when, guard=Guard.SHIELD, kind=kind, subject=subject, severity=Severity.HIGH,
            reason=f"{kind} from {subject}", evidence={"samples": samples},
        )  # fmt: skip


def _bans(http: TestClient) -> BanStore:
    return BanStore(console(http).engine)


def test_bans_page_shows_reasons_escalation_until_and_evidence(client: TestClient) -> None:
    viewer = enrolled(client, "vera", Role.VIEWER)
    row = _bans(client).save_ban(BANNED, 600, ["scanner:friendly-scanner", "flood:REGISTER"], 3)
    now = datetime.now(UTC)
    _finding(client, BANNED, "scanner", now, ["OPTIONS sip:100@x ua=friendly-scanner"])
    _finding(client, BANNED, "flood", now, ["REGISTER sip:x a", "REGISTER sip:x b", "REGISTER sip:x c"])
    _finding(client, "198.51.100.7", "scanner", now, ["not this source's evidence"])
    log_in(client, viewer)
    page = client.get("/shield/bans")
    assert page.status_code == 200
    html = unescape(page.text)
    assert "scanner:friendly-scanner" in html and "flood:REGISTER" in html
    assert re.search(r'class="offences">3<', html)
    assert row.expires_at.strftime("%Y-%m-%d %H:%M") in html
    samples = re.findall(r"<code>([^<]*)</code>", html)
    assert len(samples) == 3  # SAMPLES_PER_BAN, newest finding first
    assert samples[0] == "REGISTER sip:x a"
    assert "not this source's evidence" not in html
    assert "Unban" not in html  # viewers see no button
    assert ("Shield bans", "/shield/bans") in client.app.state.guard_nav  # type: ignore[attr-defined]


def test_viewer_sees_bans_but_cannot_unban(client: TestClient) -> None:
    viewer = enrolled(client, "heidi", Role.VIEWER)
    _bans(client).save_ban(BANNED, 600, ["scanner:sipvicious"], 1)
    csrf = log_in(client, viewer)
    assert BANNED in client.get("/shield/bans").text
    refused = client.post("/shield/bans/unban", data={"csrf": csrf, "address": BANNED})
    assert refused.status_code == 403 and "operator role" in refused.text
    assert [row.address for row in _bans(client).active_bans()] == [BANNED]
    assert ("heidi", "access", "/shield/bans/unban", "denied") in _audit(client)


def test_operator_unbans_and_the_ban_is_gone_and_audited(client: TestClient) -> None:
    operator = enrolled(client, "ivan", Role.OPERATOR)
    _bans(client).save_ban(BANNED, 600, ["scanner:sipvicious"], 1)
    _bans(client).save_ban(IPV6_BANNED, 600, ["flood:INVITE"], 2)
    log_in(client, operator)
    page = client.get("/shield/bans")
    assert page.text.count(">Unban</button>") == 2
    done = client.post(
        "/shield/bans/unban", data={"csrf": csrf_of(page.text), "address": " 2001:db8:1:2:0::/64 "}
    )
    assert done.status_code == 200 and done.url.path == "/shield/bans"
    assert "Unbanned 2001:db8:1:2::/64" in done.text
    assert [row.address for row in _bans(client).active_bans()] == [BANNED]
    again = client.post("/shield/bans/unban", data={"csrf": csrf_of(page.text), "address": IPV6_BANNED})
    assert again.status_code == 404
    bad = client.post("/shield/bans/unban", data={"csrf": csrf_of(page.text), "address": "not-an-ip"})
    assert bad.status_code == 422 and "not-an-ip" in bad.text
    trail = _audit(client)
    assert ("ivan", "shield.unban", IPV6_BANNED, "ok") in trail
    assert ("ivan", "shield.unban", IPV6_BANNED, "failed") in trail


def test_unban_without_or_with_a_wrong_csrf_token_is_refused(client: TestClient) -> None:
    operator = enrolled(client, "olga", Role.OPERATOR)
    _bans(client).save_ban(BANNED, 600, ["scanner:sipvicious"], 1)
    csrf = log_in(client, operator)
    assert client.post("/shield/bans/unban", data={"address": BANNED}).status_code == 403
    forged = client.post("/shield/bans/unban", data={"address": BANNED, "csrf": csrf[::-1]})
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert [row.address for row in _bans(client).active_bans()] == [BANNED]


def test_pages_need_a_login(client: TestClient) -> None:
    enrolled(client, "root", Role.ADMIN)
    assert client.get("/shield/bans").url.path == "/login"
    assert client.get("/shield/activity").url.path == "/login"
    assert client.post("/shield/bans/unban", data={"address": BANNED}).url.path == "/login"


def test_activity_ranks_top_sources_and_counts_findings_per_hour(client: TestClient) -> None:
    viewer = enrolled(client, "vic", Role.VIEWER)
    now = datetime.now(UTC)
    for minutes in (1, 2, 3):
        _finding(client, "198.51.100.1", "flood", now - timedelta(minutes=minutes), [])
    _finding(client, "198.51.100.1", "scanner", now - timedelta(hours=2), [])
    _finding(client, "198.51.100.2", "enumeration", now - timedelta(hours=2), [])
    _finding(client, "198.51.100.3", "flood", now - timedelta(hours=30), [])  # outside the 24 h
    _bans(client).save_ban("198.51.100.1", 600, ["flood:REGISTER"], 1)
    log_in(client, viewer)
    page = client.get("/shield/activity")
    assert page.status_code == 200
    rows = re.findall(
        r'<tr class="source"><td>([^<]+)</td><td class="count">(\d+)</td><td>([^<]*)</td>', page.text
    )
    assert rows == [("198.51.100.1", "4", "flood, scanner"), ("198.51.100.2", "1", "enumeration")]
    assert "198.51.100.3" not in page.text
    series = json.loads(unescape(re.search(r'data-series="([^"]+)"', page.text).group(1)))  # type: ignore[union-attr]
    assert len(series["hours"]) == 24
    assert sum(series["findings"]) == 5 and sum(series["findings"][-2:]) >= 3
    assert sum(series["bans"]) == 1


def test_unban_lifts_the_ban_in_the_running_shield(client: TestClient) -> None:
    operator = enrolled(client, "uma", Role.OPERATOR)
    engine = console(client).engine
    enforcer = DryRunEnforcer()
    settings = load_settings()
    running = live.LiveShield(
        ShieldService(settings.shield, store=BanStore(engine), enforcers=[enforcer]), engine
    )
    running.started.wait(5)
    try:
        running.service.store.save_ban(BANNED, 600, ["scanner:sipvicious"], 1)  # type: ignore[union-attr]
        enforcer.ban(BANNED, 600, "scanner:sipvicious")
        csrf = log_in(client, operator)
        assert client.post("/shield/bans/unban", data={"csrf": csrf, "address": BANNED}).status_code == 200
        deadline = time.monotonic() + 5
        while BANNED in enforcer.active() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert BANNED not in enforcer.active()
    finally:
        asyncio.run(running.stop())


def test_operator_bans_by_hand_and_the_running_shield_enforces_it(client: TestClient) -> None:
    operator = enrolled(client, "bob", Role.OPERATOR)
    engine = console(client).engine
    enforcer = DryRunEnforcer()
    running = live.LiveShield(
        ShieldService(load_settings().shield, store=BanStore(engine), enforcers=[enforcer]), engine
    )
    running.started.wait(5)
    try:
        csrf = log_in(client, operator)
        form = {"csrf": csrf, "address": " 198.51.100.77 ", "minutes": "90", "reason": "seen in the PBX log"}
        page = client.post("/shield/bans/ban", data=form)
        assert page.status_code == 200 and "Banned 198.51.100.77" in page.text
        (row,) = _bans(client).active_bans()
        assert row.address == "198.51.100.77"
        assert row.reasons == ["manual by bob: seen in the PBX log"]
        assert 89 * 60 < (row.expires_at - datetime.now(UTC)).total_seconds() <= 90 * 60
        deadline = time.monotonic() + 5
        while "198.51.100.77" not in enforcer.active() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "198.51.100.77" in enforcer.active()
        assert ("bob", "shield.ban", "198.51.100.77", "ok") in _audit(client)
    finally:
        asyncio.run(running.stop())


def test_manual_ban_refuses_protected_networks_bad_input_viewers_and_forged_forms(client: TestClient) -> None:
    viewer = enrolled(client, "val", Role.VIEWER)
    operator = enrolled(client, "otto", Role.OPERATOR)
    _bans(client).allow("198.51.100.0/28", "our trunk")
    csrf = log_in(client, viewer)
    refused = client.post("/shield/bans/ban", data={"csrf": csrf, "address": BANNED, "minutes": "5"})
    assert refused.status_code == 403
    client.post("/logout", data={"csrf": csrf})
    csrf = log_in(client, operator)
    assert client.post("/shield/bans/ban", data={"address": BANNED, "minutes": "5"}).status_code == 403
    trunk = client.post("/shield/bans/ban", data={"csrf": csrf, "address": "198.51.100.5", "minutes": "5"})
    assert trunk.status_code == 409 and "198.51.100.0/28" in trunk.text
    wide = client.post("/shield/bans/ban", data={"csrf": csrf, "address": "0.0.0.0/0", "minutes": "5"})
    assert wide.status_code == 422 and "too wide" in wide.text
    long = client.post("/shield/bans/ban", data={"csrf": csrf, "address": BANNED, "minutes": "99999999"})
    assert long.status_code == 422
    assert _bans(client).active_bans() == []
    trail = _audit(client)
    assert ("otto", "shield.ban", "198.51.100.5", "denied") in trail
    assert ("otto", "shield.ban", "0.0.0.0/0", "failed") in trail


def test_would_be_bans_of_a_dry_run_are_listed_marked(client: TestClient) -> None:
    viewer = enrolled(client, "dora", Role.VIEWER)
    _bans(client).save_ban(BANNED, 600, ["scanner:sipvicious"], 1, dry_run=True)
    _bans(client).save_ban("198.51.100.1", 600, ["flood:REGISTER"], 1)
    log_in(client, viewer)
    html = unescape(client.get("/shield/bans").text)
    marks = dict(
        (address, mark)
        for mark, address in re.findall(r'<tr class="ban( dry-run)?" data-address="([^"]+)"', html)
    )
    assert marks == {BANNED: " dry-run", "198.51.100.1": ""}
    assert f'{BANNED} <span class="off dry-run-mark">dry run</span>' in html
    # the activity page's "banned" column: a would-be ban blocks nothing
    now = datetime.now(UTC)
    _finding(client, BANNED, "scanner", now, [])
    _finding(client, "198.51.100.1", "flood", now, [])
    sources = {
        row["source"]: row["banned"] for row in top_sources(console(client).engine, now - timedelta(hours=1))
    }
    assert sources == {BANNED: False, "198.51.100.1": True}


def test_the_next_bans_link_walks_every_ban_once_with_its_own_evidence(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phonewarden.shield import pages

    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    now = datetime.now(UTC)
    for index in range(5):
        address = f"203.0.113.{index + 1}"
        _bans(client).save_ban(address, 600 + index, ["flood:INVITE"], 1)
        with session_factory(console(client).engine).begin() as session:
            add_finding(session, guard=Guard.SHIELD, kind=f"flood-{index}", severity=Severity.HIGH,
                        subject=address, reason="INVITE flood", time=now,
                        evidence={"samples": [f"INVITE from {address}"]})  # fmt: skip
    log_in(client, enrolled(client, "vera", Role.VIEWER))
    walked: list[str] = []
    url, visits = "/shield/bans", 0
    while url:
        page = client.get(url)
        shown = 1 if visits == 2 else 2
        assert page.status_code == 200 and f"5 active ({shown} on this page" in page.text
        for address, row in re.findall(r'class="ban" data-address="([^"]+)">(.*?)</tr>', page.text, re.S):
            assert (
                f"INVITE from {address}</code>" in row and f"flood-{int(address.split('.')[-1]) - 1}" in row
            )
            walked.append(address)
        link = re.search(r'id="next" href="([^"]+)"', page.text)
        url, visits = unescape(link.group(1)) if link else "", visits + 1
    assert walked == [f"203.0.113.{n}" for n in (5, 4, 3, 2, 1)] and visits == 3  # longest left first
    foreign = client.get("/shield/bans", params={"before": "bm90IGEgY3Vyc29y"})
    assert foreign.status_code == 422 and "before" in foreign.text
