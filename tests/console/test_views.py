from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from phonewarden.store.engine import session_factory
from phonewarden.store.findings import add_finding
from phonewarden.store.models import Guard, Severity
from tests.console.conftest import console, enrolled, log_in


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
    for key in ("bans", "fraud", "audit", "privacy"):
        assert f'href="/lists/{key}"' in overview.text
        assert client.get(f"/lists/{key}").status_code == 200
    assert client.get("/lists/nothing").status_code == 404


def test_pages_need_a_login(client: TestClient) -> None:
    for path in ("/overview", "/findings", "/lists/bans", "/tokens", "/audit-log"):
        assert client.get(path).url.path == "/login", path
