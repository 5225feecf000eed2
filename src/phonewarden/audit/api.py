"""HTTP API under /api/v1/audit: stored runs and their checks, and the policy.

Every list is paged as console/pagination.py says (`limit`, `cursor`, the next page in a `Link` header).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select

from phonewarden.audit.models import AuditCheck, AuditRun
from phonewarden.audit.policy import rules
from phonewarden.console.pagination import PAGED, Paging
from phonewarden.store.engine import RouterEngine, session_factory
from phonewarden.store.models import Severity

router = APIRouter()


_engine = RouterEngine()
use_engine = _engine.use  # the console points the router at its own database; tests at theirs


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


@router.get("/runs", responses=PAGED)
def list_runs(
    page: Paging,
    kind: Annotated[str | None, Query(max_length=16, description="config, probe, ...")] = None,
    site: Annotated[str | None, Query(max_length=255)] = None,
) -> list[dict[str, Any]]:
    """Newest first."""
    query = select(AuditRun)
    if kind is not None:
        query = query.where(AuditRun.kind == kind)
    if site is not None:
        query = query.where(AuditRun.site == site)
    with session_factory(_engine())() as session:
        runs = list(session.scalars(page.keyset(query, AuditRun.id)))
        return [_run_json(run) for run in page.finish(runs, lambda run: (run.id,))]


@router.get("/runs/{run_id}/checks", responses=PAGED)
def run_checks(
    run_id: int, page: Paging, status: Annotated[str | None, Query(pattern="^(pass|fail|unknown)$")] = None
) -> list[dict[str, Any]]:
    with session_factory(_engine())() as session:
        if session.get(AuditRun, run_id) is None:
            raise HTTPException(404, f"no audit run {run_id}")
        query = select(AuditCheck).where(AuditCheck.run_id == run_id)
        if status is not None:
            query = query.where(AuditCheck.status == status)
        checks = list(session.scalars(page.keyset(query, AuditCheck.id, descending=False)))
        return [_check_json(check) for check in page.finish(checks, lambda check: (check.id,))]


@router.get("/rules", responses=PAGED)
def list_rules(page: Paging, severity: Severity | None = None) -> list[dict[str, Any]]:
    """By rule id."""
    chosen = [r for r in rules() if severity is None or r.severity == severity]
    return [r.to_json() for r in page.of_list(chosen, lambda r: (r.id,))]
