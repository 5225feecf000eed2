"""GET /api/v1/location: JSON and PIDF-LO for the PBX, behind the console's API auth, on both backends."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from phonewarden.console.app import create_app
from phonewarden.console.audit_log import Actor
from phonewarden.console.locations import LocationStore, location_from
from phonewarden.console.policy import Role
from phonewarden.settings import Settings
from phonewarden.store.migrate import upgrade
from tests.console.conftest import console, csrf_of, enrolled, log_in
from tests.store import conftest as store_fixtures

pg_url, db_url = store_fixtures.pg_url, store_fixtures.db_url

NS = {
    "pidf": "urn:ietf:params:xml:ns:pidf",
    "gp": "urn:ietf:params:xml:ns:pidf:geopriv10",
    "ca": "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr",
}
BUILDING = {
    "name": "hq-building", "subnet": "198.51.100.0/24", "country": "DE", "A1": "Berlin", "A3": "Berlin",
    "RD": "Musterstraße", "HNO": "1", "PC": "10115", "NAM": "Example & Söhne <GmbH>",
}  # fmt: skip
FLOOR_3 = BUILDING | {"name": "hq-floor-3", "subnet": "198.51.100.128/25", "FLR": "3", "ROOM": "3.14",
                      "elin": "+4930555003"}  # fmt: skip
BRANCH = BUILDING | {"name": "branch", "subnet": "2001:db8:100::/48", "A3": "München", "RD": "Beispielweg"}


@pytest.fixture
def client(clean_env: Path, db_url: str) -> Iterator[TestClient]:
    settings = Settings(data_dir=clean_env / "var", database_url=db_url)
    upgrade(settings.database_url)
    with TestClient(create_app(settings, start_hep=False), base_url="https://testserver") as http:
        store = LocationStore(console(http).engine)
        store.add_all([location_from(raw) for raw in (BUILDING, FLOOR_3, BRANCH)], Actor("test", "localhost"))
        yield http


def _viewer_token(client: TestClient) -> dict[str, str]:
    enrolled(client, "alice")
    log_in(client, enrolled(client, "vera", Role.VIEWER))
    page = client.get("/tokens")
    made = client.post("/tokens", data={"csrf": csrf_of(page.text), "name": "pbx", "role": "viewer"})
    client.cookies.clear()
    token = made.text.split('id="new-token">')[1].split("<")[0]
    return {"authorization": f"Bearer {token}"}


def test_json_answer_is_the_most_specific_location(client: TestClient) -> None:
    # Setup mode (no operator yet): loopback clients read without a token.
    answer = client.get("/api/v1/location", params={"ip": "198.51.100.200"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "ip": "198.51.100.200",
        "location": "hq-floor-3",
        "subnet": "198.51.100.128/25",
        "civic": {"country": "DE", "A1": "Berlin", "A3": "Berlin", "RD": "Musterstraße", "HNO": "1",
                  "FLR": "3", "NAM": "Example & Söhne <GmbH>", "PC": "10115", "ROOM": "3.14"},
        "callback": "+4930555003",
        "note": None,
    }  # fmt: skip
    mapped = client.get("/api/v1/location", params={"ip": "::ffff:198.51.100.7"}).json()
    assert (mapped["ip"], mapped["location"]) == ("198.51.100.7", "hq-building")
    assert client.get("/api/v1/location?ip=2001:db8:100::9").json()["location"] == "branch"


def test_unknown_and_invalid_addresses(client: TestClient) -> None:
    missing = client.get("/api/v1/location", params={"ip": "203.0.113.9"})
    assert missing.status_code == 404 and missing.json()["detail"] == "no location for 203.0.113.9"
    bad = client.get("/api/v1/location", params={"ip": "198.51.100.256"})
    assert bad.status_code == 400
    assert bad.json()["detail"] == "ip '198.51.100.256' is not an IPv4 or IPv6 address"
    assert client.get("/api/v1/location").status_code == 422  # no ip at all


@pytest.mark.parametrize("how", ["accept", "query"])
def test_pidf_lo_document_parses_with_civic_address_in_schema_order(client: TestClient, how: str) -> None:
    if how == "accept":
        answer = client.get("/api/v1/location?ip=198.51.100.130", headers={"accept": "application/pidf+xml"})
    else:
        answer = client.get("/api/v1/location?ip=198.51.100.130&format=pidf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pidf+xml"
    root = ET.fromstring(answer.content)
    assert root.tag == f"{{{NS['pidf']}}}presence" and root.get("entity") == "pres:phone@198.51.100.130"
    civic = root.find("pidf:tuple/pidf:status/gp:geopriv/gp:location-info/ca:civicAddress", NS)
    assert civic is not None
    elements = [(child.tag.split("}")[1], child.text) for child in civic]
    assert elements == [
        ("country", "DE"), ("A1", "Berlin"), ("A3", "Berlin"), ("RD", "Musterstraße"), ("HNO", "1"),
        ("FLR", "3"), ("NAM", "Example & Söhne <GmbH>"), ("PC", "10115"), ("ROOM", "3.14"),
    ]  # fmt: skip
    geopriv = root.find("pidf:tuple/pidf:status/gp:geopriv", NS)
    assert geopriv is not None and geopriv.find("gp:usage-rules", NS) is not None
    assert geopriv.findtext("gp:method", namespaces=NS) == "Manual"
    assert root.findtext("pidf:tuple/pidf:contact", namespaces=NS) == "tel:+4930555003"
    stamp = datetime.fromisoformat(root.findtext("pidf:tuple/pidf:timestamp", namespaces=NS) or "")
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 3600


def test_pidf_entity_brackets_an_ipv6_host(client: TestClient) -> None:
    answer = client.get("/api/v1/location?ip=2001:db8:100::9&format=pidf")
    assert ET.fromstring(answer.content).get("entity") == "pres:phone@[2001:db8:100::9]"
    assert client.get("/api/v1/location?ip=2001:db8:100::9&format=xml").status_code == 422


def test_once_an_operator_exists_the_api_needs_a_token(client: TestClient) -> None:
    headers = _viewer_token(client)
    refused = client.get("/api/v1/location", params={"ip": "198.51.100.7"})
    assert refused.status_code == 401 and "Bearer" in refused.json()["detail"]
    # Before routing: a wrong ip from a stranger learns nothing either.
    assert client.get("/api/v1/location", params={"ip": "nonsense"}).status_code == 401
    wrong = {"authorization": "Bearer pwt_forged"}
    assert client.get("/api/v1/location", params={"ip": "198.51.100.7"}, headers=wrong).status_code == 401
    allowed = client.get("/api/v1/location", params={"ip": "198.51.100.7"}, headers=headers)
    assert allowed.status_code == 200 and allowed.json()["location"] == "hq-building"
    # Only reads: the viewer token may not change anything here (and there is nothing to change).
    assert client.post("/api/v1/location", params={"ip": "198.51.100.7"}, headers=headers).status_code == 403


def test_answers_follow_changes_made_elsewhere(client: TestClient) -> None:
    assert client.get("/api/v1/location?ip=198.51.100.130").json()["location"] == "hq-floor-3"
    # Another process (the CLI) changes the database; the console's in-memory table follows.
    elsewhere = LocationStore(console(client).engine)
    elsewhere.remove("hq-floor-3", Actor("cli:test", "localhost"))
    assert client.get("/api/v1/location?ip=198.51.100.130").json()["location"] == "hq-building"
    elsewhere.remove("hq-building", Actor("cli:test", "localhost"))
    assert client.get("/api/v1/location?ip=198.51.100.130").status_code == 404
    assert client.app.state.locations.index().size == 1  # type: ignore[attr-defined]
