import re
import socket
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from phonewarden.console.app import create_app
from phonewarden.settings import Settings
from phonewarden.store.migrate import head_revision, upgrade
from tests.conftest import free_udp_and_tcp_port, hep_sip_packet

REGISTER = (
    b"REGISTER sip:example.test SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK1\r\n"
    b"From: <sip:1001@example.test>;tag=a\r\nTo: <sip:1001@example.test>\r\nCall-ID: c1@x\r\n"
    b"CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
)


HEP_REGISTER = hep_sip_packet(REGISTER, capture_id=2001, time=1_700_000_000.25)


def _settings(tmp_path: Path, hep_port: int = 9060) -> Settings:
    return Settings(data_dir=tmp_path, hep={"port": hep_port})


def test_health_reports_database_revision_and_home_lists_guards(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    upgrade(settings.database_url)
    with TestClient(create_app(settings, start_hep=False)) as client:
        health = client.get("/health").json()
        assert health["status"] == "ok"
        assert health["database"] == {"revision": head_revision(), "head": head_revision()}
        page = client.get("/")
        assert page.status_code == 200
        for guard in ("shield", "fraud", "privacy", "audit", "provisioning"):
            assert f"<td>{guard}</td>" in page.text


def test_health_is_degraded_before_migration(tmp_path: Path) -> None:
    with TestClient(create_app(_settings(tmp_path), start_hep=False)) as client:
        health = client.get("/health").json()
    assert health["status"] == "degraded"
    assert health["database"]["revision"] is None


def test_hep_listener_runs_with_the_app_and_counts_sip(tmp_path: Path) -> None:
    port = free_udp_and_tcp_port()
    settings = _settings(tmp_path, port)
    upgrade(settings.database_url)
    with TestClient(create_app(settings)) as client:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(HEP_REGISTER, ("127.0.0.1", port))
            sender.sendto(b"garbage that is not HEP", ("127.0.0.1", port))
        with socket.create_connection(("127.0.0.1", port)) as stream:
            stream.sendall(HEP_REGISTER * 2)
        deadline = time.monotonic() + 30
        hep = client.get("/health").json()["hep"]
        while hep["sip_messages"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
            hep = client.get("/health").json()["hep"]
        assert hep["sip_messages"] == 3
        assert hep["dropped"] == 1
        assert f"udp:127.0.0.1:{port}" in hep["listening"]
        assert "3 SIP messages" in client.get("/").text


LIVE_GUARD = """
received = []
stopped = []


class _Live:
    def on_record(self, record):
        received.append(record)

    async def stop(self):
        stopped.append(True)


def start(settings, engine):
    return _Live()
"""


def test_live_guards_get_every_hep_record_and_are_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import phonewarden
    import phonewarden.console.app as console_app

    package = tmp_path / "guards" / "labconsole"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "live.py").write_text(LIVE_GUARD)
    monkeypatch.setattr(phonewarden, "__path__", [*phonewarden.__path__, str(tmp_path / "guards")])
    monkeypatch.setattr(console_app, "GUARDS", {**console_app.GUARDS, "labconsole": "made by this test"})
    port = free_udp_and_tcp_port()
    settings = _settings(tmp_path, port)
    upgrade(settings.database_url)
    from phonewarden.labconsole import live  # type: ignore[import-not-found]

    with TestClient(create_app(settings)), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(HEP_REGISTER, ("127.0.0.1", port))
        deadline = time.monotonic() + 30
        while not live.received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [record.body.call_id for record in live.received] == ["c1@x"]
    assert live.stopped == [True]


def test_first_screen_tells_how_to_create_the_first_admin_then_offers_login(tmp_path: Path) -> None:
    from phonewarden.console.audit_log import Actor
    from phonewarden.console.policy import Role

    settings = _settings(tmp_path)
    upgrade(settings.database_url)
    with TestClient(create_app(settings, start_hep=False)) as client:
        first = client.get("/").text
        assert "phonewarden admin create YOUR-NAME" in first and 'id="login-link"' not in first
        client.app.state.console.accounts.create("alice", Role.ADMIN, Actor("t", "t"))  # type: ignore[attr-defined]
        later = client.get("/").text
        assert "admin create" not in later and 'id="login-link"' in later


def test_api_docs_are_served_from_the_console_without_inline_script(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    upgrade(settings.database_url)
    with TestClient(create_app(settings, start_hep=False)) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        scripts = re.findall(r"<script([^>]*)>", page.text)
        assert scripts and all('src="/static/' in attributes for attributes in scripts)
        assert "script-src 'self'" in page.headers["content-security-policy"]
        for path in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
            assert client.get(path).status_code == 200, path
        assert client.get("/redoc").status_code == 404
        assert client.get("/openapi.json").json()["info"]["title"] == "phonewarden"
