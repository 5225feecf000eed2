"""/locations: list for viewers, add/remove for operators (CSRF, audit log), "test an address"."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from phonewarden.console.models import ConsoleAudit
from phonewarden.console.policy import Role
from phonewarden.store.engine import session_factory
from tests.console.conftest import console, enrolled, log_in

FORM = {"name": "hq-floor-3", "subnet": "198.51.100.128/25", "country": "de", "A3": "Berlin",
        "RD": "Musterstraße", "HNO": "1", "FLR": "3", "elin": "+4930555003"}  # fmt: skip


def _audit(client: TestClient) -> list[tuple[str, str, str, str]]:
    with session_factory(console(client).engine)() as session:
        rows = session.scalars(select(ConsoleAudit).where(ConsoleAudit.actor != "test"))
        return [(a.actor, a.action, a.target, a.outcome) for a in rows if a.action.startswith(("loc", "acc"))]


def test_operator_adds_tests_and_removes_a_location(client: TestClient) -> None:
    enrolled(client, "alice")
    csrf = log_in(client, enrolled(client, "olga", Role.OPERATOR))
    empty = client.get("/locations")
    assert "no locations yet" in empty.text and 'id="add-form"' in empty.text
    added = client.post("/locations", data={"csrf": csrf, **FORM})
    assert added.url.path == "/locations" and "Added the location hq-floor-3" in added.text
    assert "Musterstraße 1, Berlin, DE, floor 3" in added.text and "+4930555003" in added.text
    hit = client.get("/locations", params={"ip": "::ffff:198.51.100.200"})
    assert 'id="answer"' in hit.text and "198.51.100.200 → <strong>hq-floor-3</strong>" in hit.text
    miss = client.get("/locations", params={"ip": "198.51.100.7"})
    assert "No location for 198.51.100.7" in miss.text
    bad = client.get("/locations", params={"ip": "not-an-ip"})
    assert bad.status_code == 400 and "ip &#39;not-an-ip&#39; is not an IPv4 or IPv6 address" in bad.text
    removed = client.post("/locations/remove", data={"csrf": csrf, "name": "hq-floor-3"})
    assert removed.url.path == "/locations" and "no locations yet" in removed.text
    again = client.post("/locations/remove", data={"csrf": csrf, "name": "hq-floor-3"})
    assert again.status_code == 404 and "no location named &#39;hq-floor-3&#39;" in again.text
    assert _audit(client) == [
        ("olga", "location.add", "hq-floor-3", "ok"),
        ("olga", "location.remove", "hq-floor-3", "ok"),
        ("olga", "location.remove", "hq-floor-3", "failed"),
    ]


def test_bad_form_input_is_shown_and_kept(client: TestClient) -> None:
    enrolled(client, "alice")
    csrf = log_in(client, enrolled(client, "olga", Role.OPERATOR))
    wrong = client.post("/locations", data={"csrf": csrf, **FORM, "subnet": "198.51.100.130/25"})
    assert wrong.status_code == 400
    assert (
        "subnet &#39;198.51.100.130/25&#39; has host bits set: did you mean 198.51.100.128/25?" in wrong.text
    )
    assert 'value="Musterstraße"' in wrong.text  # the operator does not type it all again
    client.post("/locations", data={"csrf": csrf, **FORM})
    taken = client.post("/locations", data={"csrf": csrf, **FORM, "name": "other"})
    assert taken.status_code == 400 and "subnet 198.51.100.128/25 is already the location" in taken.text


def test_viewer_reads_but_cannot_change_and_the_refusal_is_audited(client: TestClient) -> None:
    enrolled(client, "alice")
    csrf = log_in(client, enrolled(client, "vera", Role.VIEWER))
    page = client.get("/locations")
    assert page.status_code == 200 and 'id="add-form"' not in page.text and "Remove" not in page.text
    refused = client.post("/locations", data={"csrf": csrf, **FORM})
    assert refused.status_code == 403 and "needs the operator role" in refused.text
    assert client.post("/locations/remove", data={"csrf": csrf, "name": "x"}).status_code == 403
    assert _audit(client)[-2:] == [
        ("vera", "access", "/locations", "denied"),
        ("vera", "access", "/locations/remove", "denied"),
    ]


def test_changes_need_the_csrf_token_and_pages_a_login(client: TestClient) -> None:
    assert client.get("/locations").url.path == "/login"
    enrolled(client, "alice")
    csrf = log_in(client, enrolled(client, "olga", Role.OPERATOR))
    forged = client.post("/locations", data={**FORM})
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert client.post("/locations", data={"csrf": csrf[:-1] + "x", **FORM}).status_code == 403
    assert "no locations yet" in client.get("/locations").text
