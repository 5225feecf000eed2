"""The contract for a guard's pages: pages.py router + NAV + templates/, mounted at /<guard> behind login."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from phonewarden.settings import Settings
from tests.console.conftest import enrolled, log_in

PAGES = """
from fastapi import APIRouter, Request
from phonewarden.console.auth import Viewer
from phonewarden.console.shell import render

router = APIRouter()
NAV = [("Lab", "/labpages/")]


@router.get("/")
def index(request: Request, principal: Viewer):
    return render(request, "labpages/index.html", {"answer": 42}, principal=principal)
"""
TEMPLATE = '{% extends "base.html" %}{% block content %}<p id="answer">{{ answer }}</p>{% endblock %}'


def test_a_guard_ships_its_pages_and_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    import phonewarden
    import phonewarden.console.shell as shell
    from phonewarden.console.app import create_app

    package = tmp_path / "guards" / "labpages"
    (package / "templates").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "pages.py").write_text(PAGES)
    (package / "templates" / "index.html").write_text(TEMPLATE)
    monkeypatch.setattr(phonewarden, "__path__", [*phonewarden.__path__, str(tmp_path / "guards")])
    monkeypatch.setattr(shell, "GUARDS", {**shell.GUARDS, "labpages": "made by this test"})
    monkeypatch.setattr(shell, "TEMPLATES", shell.Jinja2Templates(env=shell._environment()))
    with TestClient(create_app(settings, start_hep=False), base_url="https://testserver") as client:
        assert client.get("/labpages/").url.path == "/login"
        log_in(client, enrolled(client, "alice"))
        page = client.get("/labpages/")
        assert '<p id="answer">42</p>' in page.text
        assert '<a href="/labpages/">Lab</a>' in page.text  # its nav entry in the shell


def test_cells_show_times_in_utc_lists_joined_and_none_as_a_dash() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from phonewarden.console.shell import cell

    berlin = datetime(2026, 11, 25, 17, 0, 5, 123, tzinfo=timezone(timedelta(hours=1)))
    assert cell(berlin) == "2026-11-25 16:00:05"
    assert cell(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01 00:00:00"
    assert cell(["scanner:sipvicious", "flood:invite"]) == "scanner:sipvicious, flood:invite"
    assert (cell(None), cell(3)) == ("–", "3")
