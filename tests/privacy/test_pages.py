"""The privacy pages through the real console app: devices worst first, a device's countries, destinations,
leaks and verdicts from a stored analysis of a real capture; the inventory with add and remove (roles, CSRF,
form errors, the audit log) shared with the API."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select

from phonewarden.console.models import ConsoleAudit
from phonewarden.console.policy import Role
from phonewarden.privacy import demo, pages, repository
from phonewarden.privacy.inventory import load_inventory
from phonewarden.privacy.pages import BAR_WIDTH
from phonewarden.privacy.policy import parse_policy
from phonewarden.privacy.service import analyze_capture
from phonewarden.store.engine import session_factory
from tests.console import conftest as console_fixtures
from tests.console.conftest import console, csrf_of, enrolled, log_in

# The console's fixtures (a migrated database, the app over HTTPS, cheap argon2), reused, not copied.
cheap_argon2 = console_fixtures.cheap_argon2
settings = console_fixtures.settings
client = console_fixtures.client

ROW = re.compile(r'<tr class="device" data-device="([^"]+)" data-status="([^"]+)"')
BAR = re.compile(r'data-country="([^"]+)">.*?<rect class="(flagged|fine)" width="(\d+)"', re.S)
NEW_DEVICE = {"name": "lab/desk 1", "kind": "desk phone", "ip": "198.51.100.70, 198.51.100.71",
              "mac": "00-04-13-AA-BB-01", "imei": "35-209900-176148-1"}  # fmt: skip


def _store_capture(http: TestClient, capture: Path) -> int:
    """Analyse the planted capture for real and store it with its inventory, as `analyze --store` does."""
    devices = load_inventory(capture.with_suffix(".devices.json"))
    analysis = analyze_capture(capture, devices, [parse_policy("eu")])
    engine = console(http).engine
    with session_factory(engine).begin() as session:
        for device in devices:
            repository.add_device(session, device.to_json())
    return repository.save_to_store(engine, analysis, str(capture), ["eu"])


def _stored(http: TestClient) -> list[str]:
    with session_factory(console(http).engine)() as session:
        return [row.name for row in repository.list_devices(session)]


def _audit(http: TestClient) -> list[tuple[str, str, str, str]]:
    with session_factory(console(http).engine)() as session:
        rows = session.execute(
            select(ConsoleAudit.actor, ConsoleAudit.action, ConsoleAudit.target, ConsoleAudit.outcome)
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows if row[1].startswith("privacy.")]


def test_devices_worst_first_and_a_device_page_from_a_stored_capture(
    client: TestClient, capture: Path
) -> None:
    run_id = _store_capture(client, capture)
    log_in(client, enrolled(client, "vera", Role.VIEWER))
    page = client.get("/privacy/devices")
    assert page.status_code == 200 and "Privacy inventory" in page.text  # nav entry
    # All three break the EU policy; the one with most certain leaks first, possible-only leaks last.
    assert ROW.findall(page.text) == [
        ("nokia-7-plus", "violation"),
        ("snom-d785", "violation"),
        ("guest-phone", "violation"),
    ]
    nokia_row = page.text.split('data-device="nokia-7-plus"')[1].split("</tr>")[0]
    assert '<td class="countries">CN, DE, JP, US</td>' in nokia_row and "EU/EEA only" in nokia_row
    assert '<td class="leaks-high sev-high">9</td>' in nokia_row and f"<td>{run_id}</td>" in nokia_row

    device = client.get("/privacy/devices/nokia-7-plus")
    assert device.status_code == 200 and f"From run {run_id}" in device.text
    with session_factory(console(client).engine)() as session:
        leaks = repository.run_records(session, run_id, "leaks", device="nokia-7-plus")
        destinations = repository.run_records(session, run_id, "destinations", device="nokia-7-plus")
        [verdict] = repository.run_records(session, run_id, "verdicts", device="nokia-7-plus")
    assert len(leaks) == 9 and device.text.count('<tr class="leak"') == 9
    for leak in leaks:  # the redacted evidence, escaped, and never the identifier itself
        assert str(escape(leak["evidence"])) in device.text
    assert "352099001761481" not in device.text and "460031234567898" not in device.text
    assert device.text.count('<tr class="destination"') == len(destinations) == 5
    for reason in verdict["reasons"]:
        assert str(escape(reason)) in device.text
    # Bytes sent per country: DE 5833, US 53 + 722, CN 521, JP 352. DE stays in the EU; the others break it.
    bars = [(code, kind, int(width)) for code, kind, width in BAR.findall(device.text)]
    assert [(code, kind) for code, kind, _ in bars] == [
        ("DE", "fine"),
        ("US", "flagged"),
        ("CN", "flagged"),
        ("JP", "flagged"),
    ]
    assert bars[0][2] == BAR_WIDTH and bars[1][2] == round(BAR_WIDTH * 775 / 5833)
    assert "DE Germany" in device.text and "CN China" in device.text
    assert "<script" not in device.text and "style=" not in device.text  # CSP: nothing inline

    missing = client.get("/privacy/devices/no-such-phone")
    assert missing.status_code == 404 and "no-such-phone" in missing.text


def test_viewer_sees_the_inventory_but_cannot_add_or_remove(client: TestClient, capture: Path) -> None:
    _store_capture(client, capture)
    csrf = log_in(client, enrolled(client, "vera", Role.VIEWER))
    page = client.get("/privacy/inventory")
    assert page.status_code == 200 and 'data-device="snom-d785"' in page.text
    assert "<code>35…81</code>" in page.text and "352099001761481" not in page.text  # masked
    assert "Remove</button>" not in page.text and 'id="add"' not in page.text
    added = client.post("/privacy/inventory/add", data={"csrf": csrf, **NEW_DEVICE})
    removed = client.post("/privacy/inventory/remove", data={"csrf": csrf, "name": "snom-d785"})
    assert added.status_code == removed.status_code == 403
    assert _stored(client) == ["guest-phone", "nokia-7-plus", "snom-d785"]
    with session_factory(console(client).engine)() as session:
        denied = session.scalars(select(ConsoleAudit.target).where(ConsoleAudit.outcome == "denied"))
        assert {"/privacy/inventory/add", "/privacy/inventory/remove"} <= set(denied)


def test_operator_adds_and_removes_with_csrf_form_errors_and_audit(client: TestClient) -> None:
    log_in(client, enrolled(client, "otto", Role.OPERATOR))
    page = client.get("/privacy/inventory")
    csrf = csrf_of(page.text)
    assert 'id="add"' in page.text and "no devices in the inventory" in page.text

    no_csrf = client.post("/privacy/inventory/add", data=NEW_DEVICE)
    assert no_csrf.status_code == 403 and _stored(client) == []

    bad_mac = client.post(
        "/privacy/inventory/add", data={"csrf": csrf, **NEW_DEVICE, "mac": "00:04:13:zz:bb:01"}
    )
    assert bad_mac.status_code == 422 and 'id="error"' in bad_mac.text
    assert "field &#39;mac&#39;" in bad_mac.text and "lab/desk 1" in bad_mac.text
    assert 'value="00:04:13:zz:bb:01"' in bad_mac.text  # the form keeps what was typed
    # A bad IMEI beside valid fields: nothing of the entry is written.
    bad_imei = client.post(
        "/privacy/inventory/add", data={"csrf": csrf, **NEW_DEVICE, "imei": "352099001761482"}
    )
    assert bad_imei.status_code == 422 and "field &#39;imei&#39;" in bad_imei.text
    assert _stored(client) == []

    done = client.post("/privacy/inventory/add", data={"csrf": csrf, **NEW_DEVICE})
    assert done.url.path == "/privacy/inventory" and 'id="added"' in done.text
    assert 'data-device="lab/desk 1"' in done.text and "<code>00…01</code>" in done.text
    # The API manages the same inventory: it sees the entry, canonical, as the --devices file would give it.
    api = client.get("/api/v1/privacy/devices").json()
    assert api == [{"name": "lab/desk 1", "kind": "desk phone", "ip": ["198.51.100.70", "198.51.100.71"],
                    "mac": ["00:04:13:aa:bb:01"], "imei": ["352099001761481"]}]  # fmt: skip
    detail = client.get("/privacy/devices/lab%2Fdesk%201")
    assert detail.status_code == 200 and 'id="no-run"' in detail.text

    taken = client.post("/privacy/inventory/add", data={"csrf": csrf, **NEW_DEVICE, "name": "other"})
    assert taken.status_code == 409 and "198.51.100.70" in taken.text and _stored(client) == ["lab/desk 1"]

    removed = client.post("/privacy/inventory/remove", data={"csrf": csrf, "name": "lab/desk 1"})
    assert removed.url.path == "/privacy/inventory" and 'id="removed"' in removed.text
    assert _stored(client) == [] and client.get("/api/v1/privacy/devices").json() == []
    again = client.post("/privacy/inventory/remove", data={"csrf": csrf, "name": "lab/desk 1"})
    assert again.status_code == 404
    assert _audit(client) == [
        ("otto", "privacy.device_add", "lab/desk 1", "failed"),
        ("otto", "privacy.device_add", "lab/desk 1", "failed"),
        ("otto", "privacy.device_add", "lab/desk 1", "ok"),
        ("otto", "privacy.device_add", "other", "failed"),
        ("otto", "privacy.device_remove", "lab/desk 1", "ok"),
        ("otto", "privacy.device_remove", "lab/desk 1", "failed"),
    ]


def test_demo_data_fills_the_pages_and_the_privacy_list(client: TestClient) -> None:
    demo.load(console(client).engine, random.Random(8), datetime.now(UTC))
    log_in(client, enrolled(client, "vera", Role.VIEWER))
    rows = ROW.findall(client.get("/privacy/devices").text)
    assert rows == [
        ("nokia-7-plus", "violation"),
        ("yealink-t54w", "uncertain"),
        ("gigaset-n670", "ok"),
        ("snom-d785", "ok"),
    ]
    listed = client.get("/lists/privacy").text
    assert "nokia-7-plus" in listed and "violation" in listed and "snom-d785" not in listed
    desk = client.get("/privacy/devices/snom-d785").text
    assert [code for code, _, _ in BAR.findall(desk)] == ["DE"] and '<tr class="leak"' not in desk
    phone = client.get("/privacy/devices/nokia-7-plus").text
    assert 'data-identifier="imei" data-confidence="high"' in phone and "zzhc.vnet.cn" in phone
    assert "did=[Mz…gx]" in phone and ("CN", "flagged") in [(c, k) for c, k, _ in BAR.findall(phone)]


def test_the_next_devices_link_walks_the_list_worst_first_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo.load(console(client).engine, random.Random(8), datetime.now(UTC))
    log_in(client, enrolled(client, "vera", Role.VIEWER))
    whole = ROW.findall(client.get("/privacy/devices").text)
    monkeypatch.setattr(pages, "PAGE_SIZE", 3)
    first = client.get("/privacy/devices")
    link = re.search(r'id="next" href="([^"]+)"', first.text)
    assert ROW.findall(first.text) == whole[:3] and link is not None
    second = client.get(link.group(1).replace("&amp;", "&"))
    assert ROW.findall(second.text) == whole[3:] and 'id="next"' not in second.text
    assert len(whole) == 4 and 'href="/privacy/devices">first page' in second.text
    foreign = client.get("/privacy/devices", params={"before": "bm90IGEgY3Vyc29y"})
    assert foreign.status_code == 422 and "before" in foreign.text
