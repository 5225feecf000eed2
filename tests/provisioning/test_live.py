"""The device plane inside `phonewarden serve`: off by default, refuses to start without TLS, serves."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from phonewarden.provisioning import live
from phonewarden.provisioning.server import ServerSetupError
from phonewarden.provisioning.settings import ProvisioningSettings
from phonewarden.settings import Settings
from tests.conftest import free_port
from tests.provisioning.pki import CA


def settings(folder: Path, engine: Engine, key: str, **prov: object) -> Settings:
    url = engine.url.render_as_string(hide_password=False)
    return Settings(data_dir=folder, database_url=url, provisioning=ProvisioningSettings.model_validate(
        {"encryption_key": key, **prov}))  # fmt: skip


async def test_disabled_means_no_server(tmp_path: Path, sqlite_engine: Engine) -> None:
    running = live.start(Settings(data_dir=tmp_path), sqlite_engine)
    assert running.server is None and running.task is None
    running.on_record(object())
    await running.stop()


async def test_enabled_without_a_certificate_refuses_to_start(
    tmp_path: Path, sqlite_engine: Engine, prov_settings: ProvisioningSettings
) -> None:
    assert prov_settings.encryption_key
    with pytest.raises(ServerSetupError, match="certificate and private_key are required"):
        live.start(
            settings(tmp_path, sqlite_engine, prov_settings.encryption_key, enabled=True), sqlite_engine
        )
    with pytest.raises(ServerSetupError, match="no such file"):
        missing = {"certificate": tmp_path / "x.pem", "private_key": tmp_path / "x.key"}
        config = settings(tmp_path, sqlite_engine, prov_settings.encryption_key, enabled=True, **missing)
        live.start(config, sqlite_engine)


@pytest.mark.peer
async def test_enabled_serves_https_on_its_own_port_and_stops(
    tmp_path: Path, sqlite_engine: Engine, prov_settings: ProvisioningSettings
) -> None:
    assert prov_settings.encryption_key
    ca = CA(tmp_path, "server ca")
    server = ca.issue("server", "127.0.0.1", server_ip="127.0.0.1")
    port = free_port()
    config = settings(tmp_path, sqlite_engine, prov_settings.encryption_key, enabled=True, port=port,
                      certificate=server.cert, private_key=server.key)  # fmt: skip
    running = live.start(config, sqlite_engine)
    assert running.server is not None
    for _ in range(200):
        if running.server.started:
            break
        await asyncio.sleep(0.02)
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(ca.issued.cert))) as http:
        common = await http.get(f"https://127.0.0.1:{port}/y000000000028.cfg")
        unknown = await http.get(f"https://127.0.0.1:{port}/001565000001.cfg")
    assert common.status_code == 200 and "auto_provision" in common.text
    assert unknown.status_code == 404
    metrics = running.metrics()  # the decision log's queue: both fetches were logged, none dropped
    assert metrics["dropped"] == 0 and metrics["queue_depth"] >= 0
    await running.stop()
    assert running.task is not None and running.task.done()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(ca.issued.cert))) as http:
            await http.get(f"https://127.0.0.1:{port}/y000000000028.cfg")


def test_metrics_are_empty_when_the_device_plane_is_off() -> None:
    from phonewarden.provisioning.live import LiveProvisioning

    assert LiveProvisioning(None, None).metrics() == {}
