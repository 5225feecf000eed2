"""The device plane on a real HTTPS port for tests: test PKI, server thread, a phone-like client."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine

from phonewarden.provisioning.server import EmbeddedServer, ProvisioningApp, build_service, uvicorn_config
from phonewarden.provisioning.service import ProvisioningService
from phonewarden.provisioning.settings import ProvisioningSettings
from phonewarden.settings import Settings
from tests.conftest import free_port
from tests.provisioning.pki import CA, Issued


@dataclass
class Lab:
    url: str
    server_ca: Path
    device_ca: CA
    rogue_ca: CA
    service: ProvisioningService
    folder: Path

    def phone(self, cert: Issued | None = None, source: str = "127.0.0.1") -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.server_ca))
        if cert is not None:
            context.load_cert_chain(str(cert.cert), str(cert.key))
        transport = httpx.HTTPTransport(verify=context, local_address=source)
        return httpx.Client(base_url=self.url, transport=transport, timeout=10)


@contextmanager
def https_lab(folder: Path, engine: Engine, key: str, **provisioning: object) -> Iterator[Lab]:
    server_ca, device_ca, rogue = (
        CA(folder, "server ca"),
        CA(folder, "vendor device ca"),
        CA(folder, "rogue ca"),
    )
    server = server_ca.issue("server", "127.0.0.1", server_ip="127.0.0.1")
    port = free_port()
    prov = {"encryption_key": key, "host": "127.0.0.1", "port": port, "certificate": server.cert,
            "private_key": server.key, "client_ca": device_ca.issued.cert,
            "public_url": f"https://127.0.0.1:{port}", **provisioning}  # fmt: skip
    settings = Settings(
        data_dir=folder,
        database_url=str(engine.url.render_as_string(hide_password=False)),
        provisioning=ProvisioningSettings.model_validate(prov),
    )
    service, _ = build_service(settings, engine)
    uv = EmbeddedServer(uvicorn_config(settings, ProvisioningApp(service)))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert uv.started, "provisioning server did not start"
    try:
        yield Lab(f"https://127.0.0.1:{port}", server_ca.issued.cert, device_ca, rogue, service, folder)
    finally:
        uv.should_exit = True
        thread.join(10)
        service.close()
