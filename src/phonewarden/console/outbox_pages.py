"""/alerts/outbox: what the alert outboxes still hold, per target (docs/alerts.md).

GET  /alerts/outbox          pending entries and dead letters per target: attempts, next try, last error
POST /alerts/outbox/retry    "retry now" for one entry (operator, CSRF), audited as "alerts.retry"

Entries are the files under `<data_dir>/outbox/<target>/`; a folder whose target is no longer configured
is listed too, so that nothing waits unseen. A retry goes through the running router when there is one,
which also wakes its worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from phonewarden.alerts import routing
from phonewarden.alerts.outbox import ENTRY_ID, Entry, Outbox
from phonewarden.alerts.settings import TARGET_NAME
from phonewarden.alerts.summary import summary_of
from phonewarden.console.auth import Operator, Viewer, actor_of, context
from phonewarden.console.policy import Role
from phonewarden.console.shell import render
from phonewarden.core.records import iso_time

router = APIRouter(prefix="/alerts", include_in_schema=False)
TargetName = Annotated[str, Form(pattern=TARGET_NAME.pattern)]
EntryId = Annotated[str, Form(pattern=ENTRY_ID.pattern)]


def _data_dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir)


def _outbox(request: Request, name: str) -> Outbox | None:
    running = routing.running(_data_dir(request))
    if running is not None and name in running.outboxes:
        return running.outboxes[name]
    folder = routing.outbox_root(_data_dir(request)) / name
    return Outbox(folder, None) if folder.is_dir() else None


def _row(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "summary": summary_of(entry.alert),
        "guard": entry.alert.get("guard", ""),
        "severity": entry.alert.get("severity", ""),
        "queued": iso_time(entry.since),
        "attempts": entry.attempts,
        "next_try": "only on request" if entry.dead else iso_time(entry.next_attempt),
        "last_error": entry.last_error,
        "dead": entry.dead,
    }


def _targets(request: Request) -> list[dict[str, Any]]:
    root = routing.outbox_root(_data_dir(request))
    running = routing.running(_data_dir(request))
    names = set(running.outboxes) if running is not None else set()
    if root.is_dir():
        names |= {path.name for path in root.iterdir() if path.is_dir() and TARGET_NAME.match(path.name)}
    found = []
    for name in sorted(names):
        outbox = _outbox(request, name)
        entries = (outbox.pending() + outbox.dead_letters()) if outbox is not None else []
        configured = running is not None and name in running.outboxes
        found.append({"name": name, "configured": configured, "rows": [_row(entry) for entry in entries]})
    return found


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, principal: Viewer) -> HTMLResponse:
    page = {
        "targets": _targets(request),
        "can_change": principal.role.allows(Role.OPERATOR),
        "retried": request.query_params.get("retried", ""),
    }
    return render(request, "outbox.html", page, principal=principal)


@router.post("/outbox/retry")
def retry(request: Request, principal: Operator, target: TargetName, entry: EntryId) -> Response:
    outbox = _outbox(request, target)
    done = outbox is not None and outbox.retry_now(entry)
    outcome = "ok" if done else "failed"
    context(request).accounts.audit(
        actor_of(request, principal), "alerts.retry", f"{target}/{entry}", outcome=outcome
    )
    if not done:
        raise HTTPException(404, f"target {target!r} has no entry {entry!r} waiting (delivered meanwhile?)")
    return RedirectResponse(f"/alerts/outbox?retried={entry}", status_code=303)
