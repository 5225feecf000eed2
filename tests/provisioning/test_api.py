"""The console API under /api/v1/provisioning: inventory changes, the decision log, no secrets out."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient

from phonewarden.provisioning import api
from phonewarden.provisioning.inventory import Inventory
from phonewarden.provisioning.models import ProvEvent
from phonewarden.store.engine import session_factory

MAC = "0015654c4c26"


def client(inventory: Inventory) -> TestClient:
    app = FastAPI()
    app.include_router(api.router, prefix="/api/v1/provisioning")
    app.dependency_overrides[api.inventory] = lambda: inventory
    return TestClient(app)


def test_devices_through_the_api(inventory: Inventory) -> None:
    inventory.add_site("hq")
    http = client(inventory)
    new = {"mac": "00:15:65:4c:4c:26", "vendor": "snom", "model": "D785", "site": "hq", "owner": "alice",
           "lines": [["2001", "Alice"]]}  # fmt: skip
    created = http.post("/api/v1/provisioning/devices", json=new)
    assert created.status_code == 201 and created.json()["mac"] == MAC
    secrets = inventory.show(MAC, reveal=True)["sip_passwords"].values()
    listing = http.get("/api/v1/provisioning/devices").text
    assert MAC in listing and all(s not in listing for s in secrets)
    assert http.post("/api/v1/provisioning/devices", json=new).status_code == 400
    assert http.post(f"/api/v1/provisioning/devices/{MAC}/retire").json()["state"] == "retired"
    moved = http.post(f"/api/v1/provisioning/devices/{MAC}/reassign", json={"owner": "bob"}).json()
    assert (moved["owner"], moved["state"]) == ("bob", "active")
    assert http.post(f"/api/v1/provisioning/devices/{MAC}/open?hours=1").json()["fetches"] == 0
    assert http.get("/api/v1/provisioning/sites").json()[0]["name"] == "hq"
    events = http.get(f"/api/v1/provisioning/events?mac={MAC}").json()
    assert [e["action"] for e in events] == ["open", "reassign", "retire", "reveal", "add"]
    missing = http.get("/api/v1/provisioning/devices/001565000001")
    assert missing.status_code == 400 and "no device 001565000001" in missing.json()["detail"]
    bad = http.post("/api/v1/provisioning/devices", json={**new, "mac": "nope"})
    assert bad.status_code == 400 and "'nope' is not a MAC" in bad.json()["detail"]


def test_lists_page_and_filter(inventory: Inventory) -> None:
    for name in ("hq", "branch", "lab"):
        inventory.add_site(name)
    for n in range(5):
        inventory.add_device(f"00156500000{n}", "snom", "D785", "hq", f"user{n}", [(f"20{n}", "")])
    inventory.retire("001565000003", "test")
    with session_factory(inventory.engine).begin() as session:
        for n, action in enumerate(["fetch", "deny", "fetch", "deny", "ban"]):
            session.add(ProvEvent(time=datetime.now(UTC), action=action, mac="001565000001", reason=f"r{n}"))
    http = client(inventory)
    first = http.get("/api/v1/provisioning/sites", params={"limit": 2})
    assert [s["name"] for s in first.json()] == ["branch", "hq"]
    assert [s["name"] for s in http.get(first.links["next"]["url"]).json()] == ["lab"]
    active = http.get("/api/v1/provisioning/devices", params={"state": "active", "limit": 3})
    more = http.get(active.links["next"]["url"]).json()
    assert [d["mac"][-1] for d in active.json() + more] == ["0", "1", "2", "4"]
    denied = http.get("/api/v1/provisioning/events", params={"outcome": "denied"}).json()
    assert [e["reason"] for e in denied] == ["r3", "r1"]
    served = http.get("/api/v1/provisioning/events", params={"outcome": "served", "mac": "00:15:65:00:00:01"})
    assert [e["reason"] for e in served.json()] == ["r2", "r0"]
    newest, url = [], "/api/v1/provisioning/events?limit=4"
    while url:
        page = http.get(url)
        newest += [e["action"] for e in page.json()]
        url = page.links.get("next", {}).get("url", "")
    assert newest[:5] == ["ban", "deny", "fetch", "deny", "fetch"] and newest.count("add") == 5
    assert http.get("/api/v1/provisioning/events", params={"outcome": "lost"}).status_code == 422
