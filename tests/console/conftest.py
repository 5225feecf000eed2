"""Console fixtures: a migrated database, the app over HTTPS (so Secure cookies flow), enrolled users."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from phonewarden.console import passwords
from phonewarden.console.app import create_app
from phonewarden.console.audit_log import Actor
from phonewarden.console.auth import ConsoleContext
from phonewarden.console.policy import Role
from phonewarden.settings import Settings
from phonewarden.shield.api import ban_store
from phonewarden.shield.bans import BanStore
from phonewarden.store.migrate import upgrade

STRONG = "correct-horse-battery-7"
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Operator:
    name: str
    password: str
    totp: pyotp.TOTP
    codes_used: int = 1  # enrolment used the code of the previous 30 s step

    def next_code(self) -> str:
        """A code the console has not seen yet: it accepts each step once, from one step back to one ahead."""
        clear_of_step_change()
        offset = self.codes_used - 1  # -1 at enrolment, then 0, then +1
        if offset > 1:
            time.sleep(30 - time.time() % 30 + 0.5)  # wait for the next step
            self.codes_used, offset = 0, -1
        self.codes_used += 1
        return self.totp.at(time.time() + 30 * offset)


def clear_of_step_change(margin: float = 3.0) -> None:
    """Wait out the last seconds of a 30 s TOTP step: a code one step back, made just before the change,
    would be two steps back when the console checks it (a slow request on a busy machine)."""
    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.2)


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with small cost parameters: the suite hashes dozens of times on 2 busy cores."""
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_HASHER", hasher)
    monkeypatch.setattr(passwords, "DUMMY_HASH", hasher.hash("phonewarden-no-such-user"))


@pytest.fixture
def settings(clean_env: Path) -> Settings:
    # The working directory's default settings: guard routers that load settings themselves agree.
    settings = Settings(data_dir=clean_env / "var")
    upgrade(settings.database_url)
    return settings


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, start_hep=False)
    # The shield's router finds its store from the settings in the working directory; point it here.
    app.dependency_overrides[ban_store] = lambda: BanStore(app.state.console.engine)
    with TestClient(app, base_url="https://testserver") as http:
        yield http


def console(client: TestClient) -> ConsoleContext:
    ctx = client.app.state.console  # type: ignore[attr-defined]
    assert isinstance(ctx, ConsoleContext)
    return ctx


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, f"no CSRF field in page: {html[:300]}"
    return found.group(1)


def enrolled(client: TestClient, name: str, role: Role = Role.ADMIN) -> Operator:
    """Create `name` as the CLI does and finish the first login in this client; logs out after."""
    enrolment = console(client).accounts.create(name, role, Actor("test", "127.0.0.1"))
    totp = pyotp.parse_uri(enrolment.otpauth_uri)
    assert isinstance(totp, pyotp.TOTP)
    page = client.post("/login", data={"name": name, "password": enrolment.one_time_password})
    assert page.url.path == "/enrol", page.text
    password = f"{STRONG}-{len(name)}Q"
    clear_of_step_change()
    done = client.post(
        "/enrol",
        # The previous step's code, so that two later logins in this 30 s step still have unused codes.
        data={
            "csrf": csrf_of(page.text),
            "new_password": password,
            "repeat": password,
            "code": totp.at(time.time() - 30),
        },
    )
    assert "recovery-codes" in done.text, done.text
    client.post("/logout", data={"csrf": csrf_of(done.text)})
    client.cookies.clear()
    return Operator(name, password, totp)


def log_in(client: TestClient, operator: Operator) -> str:
    """Password then TOTP; returns the CSRF token of the logged-in session."""
    code_page = client.post("/login", data={"name": operator.name, "password": operator.password})
    assert code_page.url.path == "/login/code", code_page.text
    overview = client.post(
        "/login/code", data={"csrf": csrf_of(code_page.text), "code": operator.next_code()}
    )
    assert overview.url.path == "/overview", overview.text
    return csrf_of(overview.text)
