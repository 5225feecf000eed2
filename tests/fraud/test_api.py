"""The authorize and push endpoints for real over HTTP (uvicorn on a loopback port, httpx as client); the
operator routes through the whole console app, where the actor is the authenticated principal."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from phonewarden.console.policy import Role
from phonewarden.fraud import service as service_module
from phonewarden.fraud.api import router
from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.models import FraudAudit
from phonewarden.fraud.service import get_service
from phonewarden.fraud.settings import FraudSettings
from phonewarden.store.engine import session_factory
from phonewarden.store.findings import add_finding
from phonewarden.store.models import Guard, Severity
from tests.conftest import HANG, served
from tests.console import conftest as console_fixtures
from tests.console.api_tokens import bearer
from tests.console.conftest import console

DATA = Path(__file__).resolve().parents[1] / "data" / "fraud"
# The console's fixtures (a migrated database, the whole app), for the routes that need a principal.
cheap_argon2 = console_fixtures.cheap_argon2
settings = console_fixtures.settings
client = console_fixtures.client


@pytest.fixture
def base_url() -> Iterator[str]:
    service_module.get_service(FraudSettings())
    with served(_fraud_app()) as url:
        yield f"{url}/api/v1/fraud"


def _fraud_app() -> FastAPI:
    app = FastAPI()
    app.include_router(router, prefix="/api/v1/fraud")
    return app


def test_push_freeswitch_json_then_authorize_denies_after_restriction(base_url: str) -> None:
    document = (DATA / "freeswitch.json").read_text()
    now = time.time()
    with httpx.Client(timeout=HANG) as client:
        assert (
            client.get(
                f"{base_url}/authorize", params={"account": "acme", "destination": "0025261234567"}
            ).json()["decision"]
            == "allow"
        )
        # mod_json_cdr with encode=true: cdr=<url-encoded JSON>, form content type, ?uuid=.
        fresh = document.replace("1772453405", str(int(now))).replace("1772452800", str(int(now) - 1600))
        fresh = fresh.replace('"billsec":"600"', '"billsec":"1500"')
        fresh = fresh.replace('"destination_number":"0025261234567"', '"destination_number":"0088213456789"')
        body = "cdr=" + urllib.parse.quote(fresh)
        response = client.post(
            f"{base_url}/cdr",
            params={"uuid": "3e1f2a4c-7d"},
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200, response.text
        kinds = [record["type"] for record in response.json()["records"]]
        # EUR 125 to a satellite number in 25 minutes: its last 5 minutes (EUR 25) break the 5-minute limit
        assert "restriction" in kinds
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
    with httpx.Client(timeout=HANG) as client:
        response = client.post(
            f"{base_url}/cdr", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert response.status_code == 400 and "not JSON" in response.json()["detail"]
        missing = client.get(f"{base_url}/authorize", params={"account": "acme"})
        assert missing.status_code == 422


@pytest.fixture
def token_url() -> Iterator[tuple[str, str]]:
    from phonewarden.fraud.pbx_auth import digest, new_token
    from phonewarden.fraud.settings import PbxToken

    token = new_token()
    service_module.get_service(FraudSettings(pbx_tokens=[PbxToken(name="fs1", sha256=digest(token))]))
    with served(_fraud_app()) as url:
        yield f"{url}/api/v1/fraud", token


def test_mod_json_cdr_authenticates_by_url_token_or_basic_cred(token_url: tuple[str, str]) -> None:
    url, token = token_url
    body = "cdr=" + urllib.parse.quote((DATA / "freeswitch.json").read_text())
    form = {"content-type": "application/x-www-form-urlencoded"}
    with httpx.Client(timeout=HANG) as client:
        # mod_json_cdr builds its URL as switch_mprintf("%s?uuid=%s", url, uuid) whatever `url` holds.
        configured = f"{url}/cdr?token={token}"
        built = "%s?uuid=%s" % (configured, "3e1f2a4c-7d")  # noqa: UP031  (the C format, as is)
        response = client.post(built, content=body, headers=form)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == 1
        # <param name="cred" value="fs1:TOKEN"/>: libcurl sends HTTP Basic.
        basic = client.post(f"{url}/cdr?uuid=3e1f2a4c-7d", content=body, headers=form, auth=("fs1", token))
        assert basic.status_code == 200, basic.text
        wrong = client.post(f"{url}/cdr?uuid=x", content=body, headers=form, auth=("fs1", token + "x"))
        assert wrong.status_code == 401 and "Basic" in wrong.headers["www-authenticate"]
        wrong_url = client.post(f"{url}/cdr?token={token}x?uuid=1", content=body, headers=form)
        assert wrong_url.status_code == 401


def test_freeswitch_b_leg_push_is_accepted_and_not_counted(base_url: str) -> None:
    document = (DATA / "freeswitch.json").read_text()
    b_leg = document.replace('"uuid":"3e1f2a4c-7d"', '"uuid":"b1","originating_leg_uuid":"3e1f2a4c-7d"')
    with httpx.Client(timeout=HANG) as client:
        response = client.post(f"{base_url}/cdr", content=b_leg, headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json()["accepted"] == 0
    assert "B leg" in response.json()["skipped"]
    assert service_module.get_service().engine.detector.cdrs == 0


def test_csv_and_json_lines_batches(base_url: str) -> None:
    now = int(time.time())
    csv_body = f"account,destination,end,billsec\nacme,030123456,{now - 60},60\nacme,030123457,yesterday,5\n"
    asterisk = (DATA / "asterisk-18.csv").read_text()
    lines = f'{{"account":"beta","destination":"030123456","end":{now},"billsec":30}}\n{{"account":\n'
    with httpx.Client(timeout=HANG) as client:
        generic = client.post(f"{base_url}/cdr", content=csv_body, headers={"content-type": "text/csv"})
        assert generic.status_code == 200, generic.text
        assert (generic.json()["accepted"], generic.json()["format"], generic.json()["bad_rows"]) == (
            1,
            "generic-csv",
            1,
        )
        assert generic.json()["errors"][0].startswith("push:3: ")
        master = client.post(
            f"{base_url}/cdr", content=asterisk, headers={"content-type": "text/csv; charset=utf-8"}
        )
        assert (master.json()["accepted"], master.json()["format"]) == (2, "asterisk")
        jsonl = client.post(
            f"{base_url}/cdr", content=lines, headers={"content-type": "application/x-ndjson"}
        )
        assert jsonl.status_code == 200, jsonl.text
        assert (jsonl.json()["accepted"], jsonl.json()["errors"][0][:7]) == (1, "push:2:")
        nothing = client.post(f"{base_url}/cdr", content="1,2\n", headers={"content-type": "text/csv"})
        assert nothing.status_code == 400 and "cannot tell the format" in nothing.json()["detail"]
        all_bad = client.post(
            f"{base_url}/cdr",
            content="account,destination,end,billsec\n,x,1,5\n",
            headers={"content-type": "text/csv"},
        )
        assert all_bad.status_code == 400 and "push:2:" in all_bad.json()["detail"]
    assert service_module.get_service().engine.detector.cdrs == 4


def test_lift_and_ack_name_the_principal_not_a_query_parameter(client: TestClient) -> None:
    ctx = console(client)
    service, now = get_service(), time.time()
    service.ingest([Cdr(account="acme", destination="0088213456789", start=now - 400, end=now, billsec=360)])
    with session_factory(ctx.engine).begin() as session:
        add_finding(session, time=datetime.now(UTC), guard=Guard.FRAUD, kind="baseline", subject="beta",
                    severity=Severity.HIGH, reason="5x the usual hour")  # fmt: skip
    viewer, operator = bearer(ctx, "vic", Role.VIEWER), bearer(ctx, "olga", Role.OPERATOR)
    assert client.post("/api/v1/fraud/restrictions/acme/lift", headers=viewer).status_code == 403
    lifted = client.post(
        "/api/v1/fraud/restrictions/acme/lift", params={"actor": "mallory"}, headers=operator
    )
    assert lifted.status_code == 200 and lifted.json()["by"] == "olga"
    open_alerts = client.get("/api/v1/fraud/alerts", headers=viewer).json()
    assert "beta" in {row["account"] for row in open_alerts}
    acked = client.post("/api/v1/fraud/accounts/beta/ack", params={"actor": "mallory"}, headers=operator)
    assert acked.json() == {"account": "beta", "acknowledged": True, "by": "olga"}
    assert "beta" not in {row["account"] for row in client.get("/api/v1/fraud/alerts", headers=viewer).json()}
    with session_factory(ctx.engine)() as session:
        trail = [
            (a.action, a.account, a.actor)
            for a in session.scalars(select(FraudAudit).order_by(FraudAudit.id))
        ]
    assert trail[1:] == [("lift", "acme", "olga"), ("ack", "beta", "olga")]
    assert trail[0][:2] == ("restrict", "acme")


def test_accounts_paged_and_series(client: TestClient) -> None:
    service, now = get_service(), time.time()
    service.ingest(
        [Cdr(account=f"a{i}", destination="0305550012", start=now - 200, end=now - 100, billsec=60 * (i + 1))
         for i in range(3)]
    )  # fmt: skip
    viewer = bearer(console(client), "vic", Role.VIEWER)
    first = client.get("/api/v1/fraud/accounts", params={"limit": 2}, headers=viewer)
    assert [row["account"] for row in first.json()] == ["a2", "a1"]  # most cost first
    assert set(first.json()[0]) >= {"calls", "cost", "level", "warm", "last_call"}
    rest = client.get(first.links["next"]["url"], headers=viewer).json()
    assert [row["account"] for row in rest] == ["a0"]
    series = client.get("/api/v1/fraud/accounts/a2/series", headers=viewer).json()
    assert len(series["hours"]) == 168 and series["calls"][-1] + series["calls"][-2] == 1
    assert series["upper"][-1] is None  # no full week learned yet
    assert (
        client.get("/api/v1/fraud/accounts/a2/series", params={"days": 99}, headers=viewer).status_code == 422
    )


def test_operator_unblocks_a_wangiri_number_through_the_api(client: TestClient) -> None:
    from phonewarden.fraud.records import Restriction

    service, now = get_service(), time.time()
    block = Restriction(time=now, account="*", level=0, until=now + 3600, reason="wangiri: test",
                        destination="18765550123")  # fmt: skip
    service.engine.book.apply(block)
    assert not service.authorize("acme", "+18765550123").allow
    ctx = console(client)
    viewer, operator = bearer(ctx, "vic", Role.VIEWER), bearer(ctx, "olga", Role.OPERATOR)
    path = "/api/v1/fraud/destinations/+1 876 555 0123/lift"
    assert client.post(path, headers=viewer).status_code == 403
    lifted = client.post(path, headers=operator)
    assert lifted.json() == {"destination": "18765550123", "lifted": True, "by": "olga"}
    assert service.authorize("acme", "+18765550123").allow
    assert client.post(path, headers=operator).status_code == 404
    bad = client.post("/api/v1/fraud/destinations/%3A/lift", headers=operator)
    assert bad.status_code == 422 and "E.164" in bad.text
