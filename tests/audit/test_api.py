from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from phonewarden.audit import api, service
from phonewarden.store.engine import make_engine
from phonewarden.store.migrate import upgrade
from tests.audit.conftest import DATA


def test_runs_and_their_checks(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pw.db'}")
    upgrade(engine)
    run_id = service.store(engine, "config", "hq", service.lint([DATA / "yealink" / "insecure.cfg"]))
    api.use_engine(engine)
    app = FastAPI()
    app.include_router(api.router, prefix="/api/v1/audit")
    client = TestClient(app)
    runs = client.get("/api/v1/audit/runs").json()
    assert [(r["id"], r["site"], r["kind"]) for r in runs] == [(run_id, "hq", "config")]
    failing = client.get(f"/api/v1/audit/runs/{run_id}/checks", params={"status": "fail"}).json()
    assert failing and all(c["status"] == "fail" for c in failing)
    assert client.get("/api/v1/audit/runs/999/checks").status_code == 404
    assert client.get(f"/api/v1/audit/runs/{run_id}/checks", params={"status": "bad"}).status_code == 422
    assert len(client.get("/api/v1/audit/rules").json()) == 19
    engine.dispose()


def test_runs_and_rules_page_and_filter(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pw.db'}")
    upgrade(engine)
    outcome = service.lint([DATA / "yealink" / "insecure.cfg"])
    ids = {site: service.store(engine, "config", site, outcome) for site in ("hq", "branch", "lab")}
    api.use_engine(engine)
    app = FastAPI()
    app.include_router(api.router, prefix="/api/v1/audit")
    client = TestClient(app)
    first = client.get("/api/v1/audit/runs", params={"limit": 2})
    assert [r["site"] for r in first.json()] == ["lab", "branch"]
    rest = client.get(first.links["next"]["url"])
    assert [r["site"] for r in rest.json()] == ["hq"] and "link" not in rest.headers
    assert [r["id"] for r in client.get("/api/v1/audit/runs", params={"site": "branch"}).json()] == [
        ids["branch"]
    ]
    assert client.get("/api/v1/audit/runs", params={"kind": "probe"}).json() == []
    checks = client.get(f"/api/v1/audit/runs/{ids['hq']}/checks", params={"limit": 1000}).json()
    paged, url = [], f"/api/v1/audit/runs/{ids['hq']}/checks?limit=3"
    while url:
        response = client.get(url)
        paged += response.json()
        url = response.links.get("next", {}).get("url", "")
    assert paged == checks and len(checks) > 3
    every = [r["id"] for r in client.get("/api/v1/audit/rules").json()]
    assert every == sorted(every) and len(every) == 19
    high = client.get("/api/v1/audit/rules", params={"severity": "high"}).json()
    assert high and {r["severity"] for r in high} == {"high"} and len(high) < 19
    assert client.get("/api/v1/audit/rules", params={"severity": "urgent"}).status_code == 422
    engine.dispose()
