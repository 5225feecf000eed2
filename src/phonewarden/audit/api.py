"""HTTP API under /api/v1/audit: stored runs and their checks, and the policy."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import Engine, select

from phonewarden.audit.models import AuditCheck, AuditRun
from phonewarden.audit.policy import rules
from phonewarden.store.engine import make_engine, session_factory

router = APIRouter()


@cache
def _engine() -> Engine:
    from phonewarden.settings import load_settings

    return make_engine(load_settings().database_url)


def use_engine(engine: Engine) -> None:
    """Point the router at another database (tests, embedding)."""
    _engine.cache_clear()
    globals()["_engine"] = cache(lambda: engine)


def _run_json(run: AuditRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind,
        "site": run.site,
        "started_at": run.started_at.isoformat(),
        "targets": run.targets,
        "failed": run.failed,
        "errors": run.errors,
    }


def _check_json(check: AuditCheck) -> dict[str, Any]:
    record = {
        "type": "check",
        "time": check.time.isoformat(),
        "target": check.target,
        "vendor": check.vendor,
        "model": check.model,
        "firmware": check.firmware,
        "check": check.check,
        "status": check.status,
        "severity": check.severity,
        "detail": check.detail,
        "remediation": check.remediation,
    }
    return {key: value for key, value in record.items() if value is not None}


@router.get("/runs")
def list_runs(limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> list[dict[str, Any]]:
    with session_factory(_engine())() as session:
        runs = session.scalars(select(AuditRun).order_by(AuditRun.id.desc()).limit(limit))
        return [_run_json(run) for run in runs]


@router.get("/runs/{run_id}/checks")
def run_checks(
    run_id: int, status: Annotated[str | None, Query(pattern="^(pass|fail|unknown)$")] = None
) -> list[dict[str, Any]]:
    with session_factory(_engine())() as session:
        if session.get(AuditRun, run_id) is None:
            raise HTTPException(404, f"no audit run {run_id}")
        query = select(AuditCheck).where(AuditCheck.run_id == run_id).order_by(AuditCheck.id)
        if status is not None:
            query = query.where(AuditCheck.status == status)
        return [_check_json(check) for check in session.scalars(query)]


@router.get("/rules")
def list_rules() -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "title": r.title,
            "severity": r.severity.value,
            "why": r.why,
            "telekom": r.telekom,
            "standards": list(r.standards),
            "fix": {v.value: r.remediation(v) for v in r.settings},
        }
        for r in rules()
    ]
