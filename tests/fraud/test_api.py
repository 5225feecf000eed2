"""The authorize and push endpoints for real over HTTP: uvicorn on a loopback port, httpx as client."""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from phonewarden.fraud import service as service_module
from phonewarden.fraud.api import router
from phonewarden.fraud.settings import FraudSettings
from tests.conftest import free_port

DATA = Path(__file__).resolve().parents[1] / "data" / "fraud"


@pytest.fixture
def base_url() -> Iterator[str]:
    service_module.get_service(FraudSettings())
    app = FastAPI()
    app.include_router(router, prefix="/api/v1/fraud")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/api/v1/fraud"
    server.should_exit = True
    thread.join(10)


def test_push_freeswitch_json_then_authorize_denies_after_restriction(base_url: str) -> None:
    document = (DATA / "freeswitch.json").read_text()
    now = time.time()
    with httpx.Client(timeout=5) as client:
        assert (
            client.get(
                f"{base_url}/authorize", params={"account": "acme", "destination": "0025261234567"}
            ).json()["decision"]
            == "allow"
        )
        # mod_json_cdr with encode=true: cdr=<url-encoded JSON>, form content type, ?uuid=.
        fresh = document.replace("1772453405", str(int(now))).replace("1772452800", str(int(now) - 1600))
        fresh = fresh.replace('"billsec":"600"', '"billsec":"1500"')
        body = "cdr=" + urllib.parse.quote(fresh)
        response = client.post(
            f"{base_url}/cdr",
            params={"uuid": "3e1f2a4c-7d"},
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200, response.text
        kinds = [record["type"] for record in response.json()["records"]]
        assert "restriction" in kinds  # EUR 30 to Somalia in one 25-minute call is over the 5-minute limit
        denied = client.get(
            f"{base_url}/authorize", params={"account": "acme", "destination": "0025261234567"}
        ).json()
        assert denied["decision"] == "deny" and denied["level"] == 2
        national = client.get(f"{base_url}/authorize", params={"account": "acme", "destination": "030123456"})
        assert national.json()["decision"] == "allow"
        emergency = client.get(f"{base_url}/authorize", params={"account": "acme", "destination": "112"})
        assert emergency.json()["decision"] == "allow"
        assert [r["account"] for r in client.get(f"{base_url}/restrictions").json()] == ["acme"]
        assert client.post(f"{base_url}/restrictions/acme/lift", params={"actor": "test"}).status_code == 200
        again = client.get(
            f"{base_url}/authorize", params={"account": "acme", "destination": "0025261234567"}
        )
        assert again.json()["decision"] == "allow"


def test_bad_push_is_a_400_naming_the_problem(base_url: str) -> None:
    with httpx.Client(timeout=5) as client:
        response = client.post(
            f"{base_url}/cdr", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert response.status_code == 400 and "not JSON" in response.json()["detail"]
        missing = client.get(f"{base_url}/authorize", params={"account": "acme"})
        assert missing.status_code == 422
