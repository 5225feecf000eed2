"""schemathesis against the console's OpenAPI document: no 5xx, and no route answers without auth.

Public by design: /health (for load balancers) and routes a guard marks as checking their own
credentials (the fraud guard's CDR push). Everything else must refuse a request without a token.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from phonewarden.console.app import create_app
from phonewarden.console.audit_log import Actor
from phonewarden.console.policy import Role
from phonewarden.settings import Settings
from tests.console.conftest import console

PUBLIC = {"/health", "/api/v1/fraud/cdr"}


def _app_with_admin_token() -> tuple[Any, str]:
    """A migrated console in a throw-away folder with one admin and an API token (built at import:
    schemathesis collects its tests from the schema)."""
    from fastapi.testclient import TestClient

    from phonewarden.console.models import ConsoleUser
    from phonewarden.store.engine import session_factory
    from phonewarden.store.migrate import upgrade

    folder = Path(tempfile.mkdtemp(prefix="phonewarden-openapi-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    settings = Settings(data_dir=folder)
    upgrade(settings.database_url)
    app = create_app(settings, start_hep=False)
    _point_guard_stores_at(app, settings)
    with TestClient(app) as client:
        ctx = console(client)
        ctx.accounts.create("robot", Role.ADMIN, Actor("test", "test"))
        with session_factory(ctx.engine).begin() as session:
            user = session.query(ConsoleUser).one()
            user.must_enrol = False
            user_id = user.id
        token = ctx.tokens.create(user_id, "schemathesis", Role.ADMIN)
    return app, token


def _point_guard_stores_at(app: Any, settings: Settings) -> None:
    # These routers find their store from the working directory's settings; use the test's instead.
    from phonewarden.provisioning.api import inventory
    from phonewarden.provisioning.inventory import Inventory
    from phonewarden.provisioning.secrets_box import load_box
    from phonewarden.shield.api import ban_store
    from phonewarden.shield.bans import BanStore
    from phonewarden.store.engine import make_engine

    engine = make_engine(settings.database_url)
    provisioning = settings.provisioning.model_copy(update={"demo": True})
    box = load_box(provisioning, settings.data_dir)
    app.dependency_overrides[inventory] = lambda: Inventory(engine, box, provisioning)
    app.dependency_overrides[ban_store] = lambda: BanStore(engine)


APP, TOKEN = _app_with_admin_token()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_with_a_token(case: schemathesis.Case) -> None:
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    )


@schema.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
def test_auth_is_enforced_on_every_route(case: schemathesis.Case) -> None:
    if case.path in PUBLIC:
        return
    response = case.call()
    if case.method.upper() != case.operation.method.upper():  # schemathesis also tries undeclared methods
        assert response.status_code in (401, 405)
        return
    assert response.status_code == 401, (
        f"{case.method} {case.formatted_path} answered {response.status_code} without auth"
    )


# Lists that are not paged on purpose: edges load the whole feed at once; the location answers one address.
NOT_PAGED = {"/api/v1/shield/feed.txt", "/api/v1/shield/feed.json", "/api/v1/location"}


def test_every_list_under_api_v1_is_paged() -> None:
    """A GET whose path does not end in one item's id is a list: it takes `limit` and `cursor`
    (console/pagination.py) and says where the next page is. fraud's routes are the fraud guard's."""
    paths = APP.openapi()["paths"]
    lists = [
        path
        for path, operations in paths.items()
        if path.startswith("/api/v1/") and "get" in operations and not path.endswith("}")
        if path not in NOT_PAGED and not path.startswith("/api/v1/fraud/")
    ]
    assert {"/api/v1/findings", "/api/v1/shield/bans", "/api/v1/provisioning/events"} <= set(lists)
    unpaged = [
        path
        for path in lists
        if not {"limit", "cursor"} <= {p["name"] for p in paths[path]["get"].get("parameters", [])}
        or "Link" not in paths[path]["get"]["responses"]["200"].get("headers", {})
    ]
    assert unpaged == []
