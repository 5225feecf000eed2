from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from phonewarden.audit.models import AuditCheck, AuditRun
from phonewarden.console.overview import TILES_BY_KEY, Cursor, tile_page
from phonewarden.console.policy import Role
from phonewarden.console.views import page_cursor, read_cursor
from phonewarden.shield.models import ShieldBan
from phonewarden.store.engine import session_factory
from phonewarden.store.findings import add_finding
from phonewarden.store.models import Guard, Severity
from tests.console.conftest import console, enrolled, log_in
from tests.store.conftest import db_url, engine, migrated_engine, pg_url  # noqa: F401  (SQLite + PostgreSQL)

NEXT = re.compile(r'id="next" href="([^"]+)"')


def next_link(html: str) -> str | None:
    found = NEXT.search(html)
    return found.group(1).replace("&amp;", "&") if found else None


def walk(client: TestClient, url: str) -> list[str]:
    """Follow a list's next-page links to the end; the first cell of every row, in order."""
    firsts: list[str] = []
    link: str | None = url
    while link is not None:
        page = client.get(link)
        assert page.status_code == 200, page.text
        firsts += re.findall(r"<tr><td>([^<]*)</td>", page.text)
        link = next_link(page.text)
    return firsts


def test_findings_page_paginates_by_keyset_and_filters_by_guard(client: TestClient) -> None:
    start = datetime.now(UTC) - timedelta(hours=3)
    with session_factory(console(client).engine).begin() as session:
        for index in range(230):
            guard = Guard.FRAUD if index % 10 == 0 else Guard.SHIELD
            add_finding(session, time=start + timedelta(seconds=index), guard=guard, kind="scan",
                        subject=f"subject-{index}", severity=Severity.LOW, reason="r")  # fmt: skip
    log_in(client, enrolled(client, "alice"))
    first = client.get("/findings")
    assert first.text.count("<td>subject-") == 100 and "subject-229<" in first.text
    following = first.text.split('id="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(following)
    assert "subject-129<" in second.text and "subject-130<" not in second.text
    fraud = client.get("/findings?guard=fraud")
    assert fraud.text.count("<td>subject-") == 23 and 'id="next"' not in fraud.text
    assert client.get("/findings?guard=nonsense").status_code == 422


def test_overview_lists_and_unknown_list(client: TestClient) -> None:
    log_in(client, enrolled(client, "bob"))
    overview = client.get("/overview")
    for key in ("bans", "audit", "privacy"):
        assert f'href="/lists/{key}"' in overview.text
    assert 'href="/fraud/alerts"' in overview.text  # the fraud tile opens the alerts page with its actions
    for key in ("bans", "fraud", "audit", "privacy"):
        assert client.get(f"/lists/{key}").status_code == 200
    assert client.get("/lists/nothing").status_code == 404


def test_pages_need_a_login(client: TestClient) -> None:
    for path in ("/overview", "/findings", "/lists/bans", "/tokens", "/audit-log"):
        assert client.get(path).url.path == "/login", path


def _findings_for_filters(client: TestClient, start: datetime) -> None:
    with session_factory(console(client).engine).begin() as session:
        for index in range(300):
            severity = Severity.HIGH if index % 2 == 0 else Severity.LOW
            add_finding(session, time=start + timedelta(minutes=index), guard=Guard.SHIELD, kind="scan",
                        subject=f"198.51.100.{index % 5}", severity=severity, reason=f"r{index}")  # fmt: skip


def test_findings_page_filters_by_severity_subject_and_since(client: TestClient) -> None:
    start = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    _findings_for_filters(client, start)
    log_in(client, enrolled(client, "carol", Role.VIEWER))
    high = client.get("/findings?severity=high")
    assert high.text.count(">high</td>") == 100 and ">low</td>" not in high.text
    link = next_link(high.text)
    assert link is not None and "severity=high" in link and "before=" in link
    older = client.get(link).text  # the next page keeps the filter
    assert older.count(">high</td>") == 50 and ">low</td>" not in older
    # A subject every fifth finding, at or after 03:20 (index 200 on): 20 findings, one page.
    narrow = client.get("/findings?subject=198.51.100.0&since=2026-11-25T03:20&severity=&guard=")
    reasons = re.findall(r"<td>(r\d+)</td>", narrow.text)
    assert reasons == [f"r{i}" for i in range(295, 199, -5)] and next_link(narrow.text) is None
    assert 'value="198.51.100.0"' in narrow.text and 'value="2026-11-25T03:20"' in narrow.text
    zoned = client.get("/findings?subject=198.51.100.0&since=2026-11-25T04:20%2B01:00")  # the same instant
    assert re.findall(r"<td>(r\d+)</td>", zoned.text) == reasons


def test_findings_filters_with_every_page_walked(client: TestClient) -> None:
    start = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    _findings_for_filters(client, start)
    log_in(client, enrolled(client, "erin", Role.VIEWER))
    # high: the even indexes; since 01:00: index 60 on -> 120 findings on two pages
    assert len(walk(client, "/findings?severity=high&since=2026-11-25T01:00")) == 120
    assert len(walk(client, "/findings?severity=low&guard=shield")) == 150
    assert walk(client, "/findings?guard=fraud") == []


def test_findings_page_says_what_is_wrong_with_a_filter(client: TestClient) -> None:
    log_in(client, enrolled(client, "dave", Role.VIEWER))
    since = client.get("/findings?since=yesterday")
    assert since.status_code == 422 and "since: 'yesterday' is not a date" in since.text
    severity = client.get("/findings?severity=urgent")
    assert severity.status_code == 422 and "severity: 'urgent' is not one of info, low" in severity.text
    assert client.get("/findings?guard=&severity=&subject=&since=").status_code == 200


def _ban(address: str, banned: datetime, expires: datetime) -> ShieldBan:
    return ShieldBan(address=address, reasons=["scan"], offences=1, banned_at=banned, expires_at=expires)


def test_bans_list_pages_by_keyset_through_equal_times(client: TestClient) -> None:
    now = datetime.now(UTC)
    with session_factory(console(client).engine).begin() as session:
        for index in range(230):
            # Bans of one instant in groups of 50: the cursor needs the id to split them.
            banned = now - timedelta(minutes=index // 50)
            session.add(_ban(f"203.0.113.{index % 250}/{index}", banned, now + timedelta(hours=1)))
        session.add(_ban("203.0.113.250", now - timedelta(days=2), now - timedelta(days=1)))  # expired
    log_in(client, enrolled(client, "frank", Role.VIEWER))
    first = client.get("/lists/bans")
    assert first.text.count("<tr><td>") == 100 and next_link(first.text) is not None
    addresses = walk(client, "/lists/bans")
    assert len(addresses) == 230 and len(set(addresses)) == 230 and "203.0.113.250" not in addresses
    minutes = [int(address.split("/")[1]) // 50 for address in addresses]
    assert minutes == sorted(minutes)  # newest first across the pages


def test_audit_list_pages_and_refuses_a_foreign_cursor(client: TestClient) -> None:
    with session_factory(console(client).engine).begin() as session:
        run = AuditRun(kind="config", site="hq", targets=130, failed=130, errors=[])
        for index in range(130):
            run.checks.append(
                AuditCheck(time=datetime.now(UTC), target=f"phone-{index:03}.cfg", vendor="yealink",
                           model="T54W", firmware="", check="web_default_password", status="fail",
                           severity="high", detail="d", remediation="set a password", evidence={})
            )  # fmt: skip
        session.add(run)
        session.add(_ban("203.0.113.9", datetime.now(UTC), datetime.now(UTC) + timedelta(hours=1)))
    log_in(client, enrolled(client, "gina", Role.VIEWER))
    assert walk(client, "/lists/audit") == [f"phone-{index:03}.cfg" for index in range(130)]
    audit_cursor = next_link(client.get("/lists/audit").text)
    assert audit_cursor is not None
    foreign = client.get("/lists/bans" + audit_cursor[len("/lists/audit") :])
    assert foreign.status_code == 422 and "not a cursor of /lists/bans" in foreign.text
    assert client.get("/lists/bans?before=%%%").status_code == 422
    assert client.get("/lists/fraud?before=abc").status_code == 422


def test_list_pages_walk_every_row_once_on_both_backends(migrated_engine: Engine) -> None:  # noqa: F811
    now = datetime.now(UTC)
    with session_factory(migrated_engine).begin() as session:
        for index in range(130):  # three instants: the id splits each
            session.add(
                _ban(f"198.51.100.{index}", now - timedelta(seconds=index // 50), now + timedelta(hours=1))
            )
    seen: list[str] = []
    after: Cursor | None = None
    while True:
        page = tile_page(TILES_BY_KEY["bans"], migrated_engine, now, after, 40)
        assert page is not None
        (columns, rows), following = page
        seen += [row[0] for row in rows]
        if following is None:
            break
        after = read_cursor("bans", page_cursor(following))  # through the link's text, as a browser sends it
    assert columns[0] == "address" and len(seen) == 130 and len(set(seen)) == 130
    assert [int(address.rsplit(".", 1)[1]) // 50 for address in seen] == sorted(i // 50 for i in range(130))
