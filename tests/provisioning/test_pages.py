"""The provisioning pages through the real console app: the inventory without a single secret, open window
and retire (roles, CSRF, audit log), the fetch log newest first with keyset pagination."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from phonewarden.console.app import create_app
from phonewarden.console.models import ConsoleAudit
from phonewarden.console.policy import Role
from phonewarden.provisioning import demo, pages
from phonewarden.provisioning.api import inventory
from phonewarden.provisioning.eventlog import EventLog
from phonewarden.provisioning.inventory import Inventory
from phonewarden.provisioning.secrets_box import SecretBox, new_key
from phonewarden.provisioning.service import Fetch, ProvisioningService
from phonewarden.provisioning.settings import ProvisioningSettings
from phonewarden.settings import Settings
from phonewarden.store.engine import session_factory
from tests.console import conftest as console_fixtures
from tests.console.conftest import console, csrf_of, enrolled, log_in

# The console's fixtures (a migrated database, cheap argon2), reused, not copied.
cheap_argon2 = console_fixtures.cheap_argon2
settings = console_fixtures.settings

YEALINK, SNOM = "0015654c4c26", "000413922d24"
YEALINK_UA = "Yealink SIP-T46S 66.86.0.15 00:15:65:4c:4c:26"
SNOM_UA = "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5 000413922D24 SXM:0 UXM:0)"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The console's client, its provisioning inventory on the console's database with a test key."""
    app = create_app(settings, start_hep=False)
    key = new_key()
    inv = Inventory(
        app.state.console.engine, SecretBox(key.encode()), ProvisioningSettings(encryption_key=key)
    )
    # The API's inventory loads settings and the key itself; here it is the console's database and a test key.
    app.dependency_overrides[inventory] = lambda: inv
    with TestClient(app, base_url="https://testserver") as http:
        yield http


def _inventory(http: TestClient) -> Inventory:
    found = http.app.dependency_overrides[inventory]()  # type: ignore[attr-defined]
    assert isinstance(found, Inventory)
    return found


def _seed(http: TestClient) -> None:
    """Two sites, two phones, real fetches through the provisioning service: served, denied, used up."""
    inv = _inventory(http)
    inv.add_site("hq", networks=["192.0.2.0/24"], max_fetches=2)
    inv.add_site("branch", networks=["198.51.100.0/24"], require_client_cert=True)
    inv.add_device(YEALINK, "yealink", "T46S", "hq", "reception", [("2001", "Reception")])
    inv.add_device(SNOM, "snom", "D785", "branch", "", [("3001", "Branch")])
    service = ProvisioningService(inv, inv.settings, events=EventLog(inv.engine))
    for source, path, agent in [
        ("192.0.2.40", f"/{YEALINK}.cfg", YEALINK_UA),
        ("192.0.2.40", f"/{YEALINK}.cfg", YEALINK_UA),
        ("192.0.2.40", f"/{YEALINK}.cfg", YEALINK_UA),  # the third: fetch-limit
        ("203.0.113.7", f"/{YEALINK}.cfg", YEALINK_UA),  # outside the site's network
        ("198.51.100.31", f"/{SNOM}.xml", SNOM_UA),  # no client certificate
        ("203.0.113.66", "/001565000001.cfg", YEALINK_UA),  # unknown MAC
    ]:
        service.handle(Fetch(source, path, user_agent=agent))
    service.close()


def _secrets(http: TestClient) -> list[str]:
    """Every secret the inventory holds for the two phones, decrypted."""
    inv, found = _inventory(http), []
    for mac in (YEALINK, SNOM):
        found += inv.show(mac, reveal=True)["sip_passwords"].values()
        gate_view = inv.for_gate(mac)
        assert gate_view is not None
        _, target, digest_secret = gate_view
        found += [target.admin_password.reveal(), target.user_password.reveal(), digest_secret.reveal()]
        found += [target.lock_pin.reveal()]
    assert all(len(secret) >= 6 for secret in found)
    return found


def _no_secret_in(html: str, secrets: list[str]) -> None:
    leaked = [secret for secret in secrets if secret in html or secret in unescape(html)]
    assert not leaked, "a provisioning secret reached the page"


def _audit(http: TestClient) -> list[tuple[str, str, str, str]]:
    with session_factory(console(http).engine)() as session:
        rows = session.execute(
            select(ConsoleAudit.actor, ConsoleAudit.action, ConsoleAudit.target, ConsoleAudit.outcome)
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows if r[1].startswith("provisioning.")]


def _phone_row(html: str, mac: str) -> str:
    found = re.search(rf'data-mac="{mac}">(.*?)</tr>', html, re.S)
    assert found is not None, f"no row for {mac}"
    return found.group(1)


def test_viewer_sees_the_inventory_without_secrets_and_cannot_change_it(client: TestClient) -> None:
    _seed(client)
    secrets = _secrets(client)
    csrf = log_in(client, enrolled(client, "vera", Role.VIEWER))
    page = client.get("/provisioning/phones")
    assert page.status_code == 200
    yealink, snom = _phone_row(page.text, YEALINK), _phone_row(page.text, SNOM)
    assert "T46S" in yealink and "hq" in yealink and 'class="fetches">2 / 2<' in yealink
    assert "used up" in yealink and "not required" in yealink
    assert "branch" in snom and "required, client-cert-missing" in snom and "open" in snom
    assert "Open window</button>" not in page.text and "Retire</button>" not in page.text
    _no_secret_in(page.text, secrets)
    _no_secret_in(client.get("/provisioning/fetches").text, secrets)
    refused = client.post("/provisioning/phones/retire", data={"csrf": csrf, "mac": YEALINK})
    assert refused.status_code == 403
    assert _inventory(client).show(YEALINK)["state"] == "active"
    with session_factory(console(client).engine)() as session:
        denied = session.scalars(select(ConsoleAudit.target).where(ConsoleAudit.outcome == "denied"))
        assert "/provisioning/phones/retire" in list(denied)
    nav = client.app.state.guard_nav  # type: ignore[attr-defined]
    assert ("Provisioning phones", "/provisioning/phones") in nav


def test_operator_opens_and_retires_with_csrf_and_audit(client: TestClient) -> None:
    _seed(client)
    log_in(client, enrolled(client, "otto", Role.OPERATOR))
    page = client.get("/provisioning/phones")
    csrf = csrf_of(page.text)
    assert "Open window</button>" in page.text
    no_csrf = client.post("/provisioning/phones/open", data={"mac": YEALINK})
    assert no_csrf.status_code == 403 and _inventory(client).show(YEALINK)["fetches"] == 2
    opened = client.post("/provisioning/phones/open", data={"csrf": csrf, "mac": "00:15:65:4C:4C:26"})
    assert opened.url.path == "/provisioning/phones" and "Done: open 0015654c4c26" in opened.text
    assert _inventory(client).show(YEALINK)["fetches"] == 0
    assert "used up" not in _phone_row(opened.text, YEALINK)
    retired = client.post("/provisioning/phones/retire", data={"csrf": csrf, "mac": YEALINK})
    row = _phone_row(retired.text, YEALINK)
    assert "retired" in row and "wipe on next fetch" in row and "Open window" not in row
    _no_secret_in(retired.text, _secrets(client))  # the rotated secrets stay out too
    again = client.post("/provisioning/phones/open", data={"csrf": csrf, "mac": YEALINK})
    assert again.status_code == 409 and "retired" in again.text
    bad = client.post("/provisioning/phones/open", data={"csrf": csrf, "mac": "00:15:65:zz:zz:zz"})
    assert bad.status_code == 422 and "not a MAC address" in bad.text
    assert _audit(client) == [
        ("otto", "provisioning.open", YEALINK, "ok"),
        ("otto", "provisioning.retire", YEALINK, "ok"),
        ("otto", "provisioning.open", YEALINK, "failed"),
        ("otto", "provisioning.open", "00:15:65:zz:zz:zz", "failed"),
    ]


def _reasons(html: str) -> list[str]:
    return re.findall(r'<td class="reason">([^<]*)</td>', html)


def test_fetch_log_newest_first_with_reasons_filters_and_keyset_pages(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(client)
    log_in(client, enrolled(client, "vera", Role.VIEWER))
    page = client.get("/provisioning/fetches")
    expected = [
        "unknown-mac", "client-cert-missing", "network-not-allowed", "fetch-limit", "served", "served",
    ]  # fmt: skip
    assert _reasons(page.text) == expected
    ids = [int(i) for i in re.findall(r'data-id="(\d+)"', page.text)]
    assert ids == sorted(ids, reverse=True)
    outsider = re.search(r'<td class="source">203.0.113.7</td><td class="mac">0015654c4c26</td>', page.text)
    assert outsider is not None
    assert _reasons(client.get("/provisioning/fetches?outcome=served").text) == ["served", "served"]
    assert _reasons(client.get("/provisioning/fetches?mac=00:04:13:92:2D:24").text) == ["client-cert-missing"]
    bad = client.get("/provisioning/fetches?mac=nonsense")
    assert bad.status_code == 422 and "'nonsense' is not a MAC address" in bad.text
    monkeypatch.setattr(pages, "PAGE_SIZE", 4)
    first = client.get("/provisioning/fetches")
    link = re.search(r'id="next" href="([^"]+)"', first.text)
    assert link is not None and _reasons(first.text) == expected[:4]
    second = client.get(unescape(link.group(1)))
    assert _reasons(second.text) == expected[4:] and 'id="next"' not in second.text


def test_the_demo_inventory_renders_without_secrets(client: TestClient) -> None:
    inv = _inventory(client)
    demo.load(inv.engine, random.Random(8), datetime.now(UTC), inv.box)
    secrets = [inv.show(row[0], reveal=True)["sip_passwords"] for row in demo.PHONES]
    log_in(client, enrolled(client, "vera", Role.VIEWER))
    page = client.get("/provisioning/phones")
    assert page.status_code == 200 and len(re.findall(r'class="phone"', page.text)) == len(demo.PHONES)
    fetches = client.get("/provisioning/fetches")
    assert fetches.status_code == 200 and "enumeration" in fetches.text
    for html in (page.text, fetches.text):
        _no_secret_in(html, [password for lines in secrets for password in lines.values()])


def test_the_next_phones_link_walks_the_whole_inventory_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    inv = _inventory(client)
    demo.load(inv.engine, random.Random(8), datetime.now(UTC), inv.box)
    log_in(client, enrolled(client, "vera", Role.VIEWER))
    monkeypatch.setattr(pages, "PAGE_SIZE", 3)
    seen: list[tuple[str, str]] = []
    url: str | None = "/provisioning/phones"
    while url:
        page = client.get(url)
        assert page.status_code == 200
        rows = re.findall(
            r'data-mac="([0-9a-f]+)">.*?</td><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>', page.text, re.S
        )
        assert 0 < len(rows) <= 3
        seen += [(site, mac) for mac, site in rows]
        link = re.search(r'id="next" href="([^"]+)"', page.text)
        url = unescape(link.group(1)) if link else None
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == len(demo.PHONES)
    foreign = client.get("/provisioning/phones?before=bm90IGEgY3Vyc29y")
    assert foreign.status_code == 422 and "before" in foreign.text
