"""GET /api/v1/findings: every guard's findings, newest first, filtered and paged (the console's core table).

Viewer role, checked by the api_auth middleware like every /api/v1 route. `since` (inclusive) and
`until` (exclusive) bound the event time and need a time zone (`2026-11-25T10:00:00Z`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime
from sqlalchemy import select

from phonewarden.console.auth import context
from phonewarden.console.pagination import PAGED, Paging
from phonewarden.store.engine import session_factory
from phonewarden.store.models import Finding, Guard, Severity

router = APIRouter(prefix="/api/v1/findings", tags=["findings"])


def finding_json(row: Finding) -> dict[str, Any]:
    return {
        "id": row.id,
        "time": row.time.isoformat().replace("+00:00", "Z"),
        "guard": row.guard.value,
        "kind": row.kind,
        "subject": row.subject,
        "severity": row.severity.value,
        "reason": row.reason,
        "evidence": row.evidence,
    }


@router.get("", responses=PAGED)
def list_findings(
    request: Request,
    page: Paging,
    guard: Guard | None = None,
    kind: Annotated[str | None, Query(max_length=64, description="e.g. scan, toll_fraud")] = None,
    severity: Severity | None = None,
    subject: Annotated[str | None, Query(max_length=255, description="an IP, an account, a device")] = None,
    since: Annotated[AwareDatetime | None, Query(description="event time at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="event time before")] = None,
) -> list[dict[str, Any]]:
    query = select(Finding)
    for column, value in ((Finding.guard, guard), (Finding.kind, kind), (Finding.severity, severity)):
        if value is not None:
            query = query.where(column == value)
    if subject is not None:
        query = query.where(Finding.subject == subject)
    if since is not None:
        query = query.where(Finding.time >= since)
    if until is not None:
        query = query.where(Finding.time < until)
    with session_factory(context(request).engine)() as session:
        rows = list(session.scalars(page.keyset(query, Finding.id)))
    return [finding_json(row) for row in page.finish(rows, lambda row: (row.id,))]
