"""The privacy API for real over HTTP: uvicorn on a loopback port, httpx as client, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from phonewarden.privacy import api, repository
from phonewarden.privacy.inventory import load_inventory
from phonewarden.privacy.policy import parse_policy
from phonewarden.privacy.service import analyze_capture
from tests.conftest import HANG, served

NOKIA = {"name": "nokia", "kind": "smartphone", "ip": "198.51.100.11", "imei": ["352099001761481"],
         "imsi": "460031234567898", "mac": "4C-BC-98-12-34-56"}  # fmt: skip


@pytest.fixture
def base_url(privacy_engine: Engine) -> Iterator[str]:
    api.use_engine(privacy_engine)
    app = FastAPI()
    app.include_router(api.router, prefix="/api/v1/privacy")
    with served(app) as url:
        yield f"{url}/api/v1/privacy"


def test_inventory_crud(base_url: str) -> None:
    with httpx.Client(timeout=HANG) as client:
        created = client.post(f"{base_url}/devices", json=NOKIA)
        assert created.status_code == 201, created.text
        assert created.json()["mac"] == ["4c:bc:98:12:34:56"] and created.json()["imsi"] == [
            "460031234567898"
        ]
        assert client.post(f"{base_url}/devices", json=NOKIA).status_code == 409
        bad = client.post(
            f"{base_url}/devices", json={"name": "x", "ip": "198.51.100.9", "imei": "352099001761482"}
        )
        assert bad.status_code == 422 and "'imei'" in bad.json()["detail"]
        unknown = client.post(
            f"{base_url}/devices", json={"name": "y", "ip": "198.51.100.9", "colour": "red"}
        )
        assert unknown.status_code == 422 and "colour" in unknown.json()["detail"]
        desk = {"kind": "desk phone", "mac": "00:04:13:aa:bb:cc", "serial": "SN0004133F9A2"}
        assert client.put(f"{base_url}/devices/snom", json=desk).status_code == 404
        assert client.post(f"{base_url}/devices", json={"name": "snom", **desk}).status_code == 201
        changed = client.put(f"{base_url}/devices/snom", json={**desk, "sip_user": "alice-4711"})
        assert changed.status_code == 200 and changed.json()["sip_user"] == ["alice-4711"]
        taken = client.put(f"{base_url}/devices/snom", json={**desk, "ip": "198.51.100.11"})
        assert taken.status_code == 409 and "nokia" in taken.json()["detail"]
        assert [d["name"] for d in client.get(f"{base_url}/devices").json()] == ["nokia", "snom"]
        assert client.delete(f"{base_url}/devices/nokia").status_code == 204
        assert client.get(f"{base_url}/devices/nokia").status_code == 404
        assert [d["name"] for d in client.get(f"{base_url}/devices").json()] == ["snom"]


def test_results_listing(base_url: str, privacy_engine: Engine, capture: Path, devices_file: Path) -> None:
    analysis = analyze_capture(capture, load_inventory(devices_file), [parse_policy("eu")])
    run_id = repository.save_to_store(privacy_engine, analysis, str(capture), ["eu"])
    with httpx.Client(timeout=HANG) as client:
        [run] = client.get(f"{base_url}/runs").json()
        assert run["id"] == run_id and run["frames"] == 460 and run["policies"] == ["eu"]
        leaks = client.get(f"{base_url}/runs/{run_id}/leaks", params={"device": "nokia-7-plus"}).json()
        found = {(leak.identifier, leak.encoding) for leak in analysis.leaks if leak.device == "nokia-7-plus"}
        assert {(leak["identifier"], leak["encoding"]) for leak in leaks} == found and found
        low = client.get(f"{base_url}/runs/{run_id}/leaks", params={"confidence": "low"}).json()
        assert low and all(leak["confidence"] == "low" for leak in low)
        china = client.get(f"{base_url}/runs/{run_id}/destinations", params={"country": "CN"}).json()
        assert (
            china
            and all(d["country"] == "CN" for d in china)
            and "zzhc.vnet.cn" in {d.get("host") for d in china}
        )
        verdicts = client.get(f"{base_url}/runs/{run_id}/verdicts", params={"status": "violation"}).json()
        assert "nokia-7-plus" in {v["device"] for v in verdicts}
        assert client.get(f"{base_url}/runs/{run_id + 1}/leaks").status_code == 404
        assert (
            client.get(f"{base_url}/runs/{run_id}/leaks", params={"confidence": "medium"}).status_code == 422
        )


def _walk(
    client: httpx.Client, url: str, params: dict[str, str | int]
) -> tuple[list[dict[str, object]], int]:
    """Follow the Link rel="next" headers; every item and the number of pages."""
    response = client.get(url, params=params)
    found, pages = [], 0
    while True:
        assert response.status_code == 200, response.text
        found += response.json()
        pages += 1
        if "next" not in response.links:
            return found, pages
        response = client.get(response.url.join(response.links["next"]["url"]))


def test_lists_page_and_filter(
    base_url: str, privacy_engine: Engine, capture: Path, devices_file: Path
) -> None:
    analysis = analyze_capture(capture, load_inventory(devices_file), [parse_policy("eu")])
    run_ids = [repository.save_to_store(privacy_engine, analysis, f"{capture}#{n}", ["eu"]) for n in range(3)]
    with httpx.Client(timeout=HANG) as client:
        for n in range(5):
            phone = {"name": f"desk-{n}", "kind": "desk phone", "ip": f"198.51.100.{40 + n}"}
            assert client.post(f"{base_url}/devices", json=phone).status_code == 201
        assert client.post(f"{base_url}/devices", json={**NOKIA, "ip": "198.51.100.60"}).status_code == 201
        desks, pages = _walk(client, f"{base_url}/devices", {"kind": "desk phone", "limit": 2})
        assert [d["name"] for d in desks] == [f"desk-{n}" for n in range(5)] and pages == 3
        runs, pages = _walk(client, f"{base_url}/runs", {"limit": 2})
        assert [r["id"] for r in runs] == sorted(run_ids, reverse=True) and pages == 2
        whole = client.get(f"{base_url}/runs/{run_ids[0]}/destinations", params={"limit": 1000}).json()
        paged, pages = _walk(client, f"{base_url}/runs/{run_ids[0]}/destinations", {"limit": 5})
        assert paged == whole and pages == -(-len(whole) // 5) and len(whole) > 5
        chinese, _ = _walk(
            client, f"{base_url}/runs/{run_ids[0]}/destinations", {"country": "CN", "limit": 1}
        )
        assert chinese and all(d["country"] == "CN" for d in chinese)
