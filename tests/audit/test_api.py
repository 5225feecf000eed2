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
