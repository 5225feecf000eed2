"""The whole console (create_app) on a loopback port with an operator existing and two PBX tokens set:
what a PBX meets in production. A helper for test_pbx_auth.py and test_pbx_authorize.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from phonewarden.console.app import create_app
from phonewarden.console.audit_log import Actor
from phonewarden.console.policy import Role
from phonewarden.fraud import service as service_module
from phonewarden.fraud.pbx_auth import digest, new_token
from phonewarden.fraud.records import Restriction
from phonewarden.fraud.settings import FraudSettings, PbxToken
from phonewarden.settings import Settings
from phonewarden.store.migrate import upgrade
from tests.conftest import served


@dataclass(frozen=True)
class Console:
    base: str  # http://127.0.0.1:<port>
    token: str  # the PBX "pbx-a"'s token
    other_token: str  # the PBX "pbx-b"'s token
    engine: Engine  # the console's database


@contextmanager
def console_with_pbx_tokens(data_dir: Path, restricted: str) -> Iterator[Console]:
    token, other = new_token(), new_token()
    fraud = FraudSettings(
        pbx_tokens=[
            PbxToken(name="pbx-a", sha256=digest(token)),
            PbxToken(name="pbx-b", sha256=digest(other)),
        ]
    )
    settings = Settings(data_dir=data_dir, fraud=fraud)
    upgrade(settings.database_url)
    app = create_app(settings, start_hep=False)
    app.state.console.accounts.create("alice", Role.OPERATOR, Actor("test", "127.0.0.1"))
    with served(app) as url:
        service = service_module.get_service()  # the one serve's fraud live hook made with these settings
        assert service.settings is fraud
        now = time.time()
        service.engine.book.apply(
            Restriction(time=now, account=restricted, level=1, until=now + 600, reason="test")
        )
        yield Console(url, token, other, app.state.console.engine)
