"""The login flow through HTTP as a browser does it: password, TOTP or recovery code, enrolment, logout."""

from __future__ import annotations

import pyotp
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phonewarden.console.audit_log import Actor
from phonewarden.console.auth import SESSION_COOKIE
from phonewarden.console.policy import Role
from tests.console.conftest import console, csrf_of, enrolled, log_in


def test_first_login_forces_a_new_password_and_totp_then_recovery_codes_work(client: TestClient) -> None:
    enrolment = console(client).accounts.create("alice", Role.ADMIN, Actor("test", "127.0.0.1"))
    totp = pyotp.parse_uri(enrolment.otpauth_uri)
    page = client.post("/login", data={"name": "alice", "password": enrolment.one_time_password})
    assert page.url.path == "/enrol"
    assert client.get("/overview").url.path == "/login"  # half-enrolled sessions open no page
    csrf = csrf_of(page.text)
    weak = client.post("/enrol", data={"csrf": csrf, "new_password": "short", "repeat": "short", "code": "1"})
    assert weak.status_code == 400 and "at least 12 characters" in weak.text
    common = "password1234"
    refused = client.post(
        "/enrol", data={"csrf": csrf, "new_password": common, "repeat": common, "code": totp.now()}
    )
    assert "common passwords" in refused.text
    good = "Lantern-Quarry-9-Orbit"
    wrong_code = client.post(
        "/enrol", data={"csrf": csrf, "new_password": good, "repeat": good, "code": "000000"}
    )
    assert "authenticator code is wrong" in wrong_code.text
    done = client.post(
        "/enrol", data={"csrf": csrf, "new_password": good, "repeat": good, "code": totp.now()}
    )
    codes = [
        line.split("<code>")[1].split("</code>")[0] for line in done.text.splitlines() if "<li><code>" in line
    ]
    codes = done.text.split('id="recovery-codes"')[1].split("</ul>")[0].split("<code>")[1:]
    codes = [chunk.split("</code>")[0] for chunk in codes]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/overview").status_code == 200
    client.post("/logout", data={"csrf": csrf_of(done.text)})
    # The one-time password is gone; a recovery code works once instead of TOTP.
    assert (
        client.post("/login", data={"name": "alice", "password": enrolment.one_time_password}).status_code
        == 401
    )
    code_page = client.post("/login", data={"name": "alice", "password": good})
    assert client.post(
        "/login/code", data={"csrf": csrf_of(code_page.text), "code": codes[0].upper()}
    ).url.path == ("/overview")
    client.cookies.clear()
    code_page = client.post("/login", data={"name": "alice", "password": good})
    again = client.post("/login/code", data={"csrf": csrf_of(code_page.text), "code": codes[0]})
    assert again.status_code == 401


def test_session_cookie_is_secure_httponly_samesite_strict(client: TestClient) -> None:
    operator = enrolled(client, "bob")
    response = client.post(
        "/login", data={"name": operator.name, "password": operator.password}, follow_redirects=False
    )
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(SESSION_COOKIE)
    for flag in ("secure", "httponly", "samesite=strict", "path=/"):
        assert flag in cookie, cookie


def test_logout_ends_the_session_on_the_server(client: TestClient) -> None:
    operator = enrolled(client, "carol")
    csrf = log_in(client, operator)
    stolen = client.cookies[SESSION_COOKIE]
    assert client.post("/logout", data={"csrf": csrf}).url.path == "/login"
    client.cookies.set(SESSION_COOKIE, stolen)  # a copy of the cookie is useless after logout
    assert client.get("/overview").url.path == "/login"


def test_unknown_user_and_wrong_password_get_the_same_answer(client: TestClient) -> None:
    enrolled(client, "dave")
    unknown = client.post("/login", data={"name": "nobody", "password": "whatever-it-is"})
    wrong = client.post("/login", data={"name": "dave", "password": "whatever-it-is"})
    assert unknown.status_code == wrong.status_code == 401
    assert "wrong user name or password" in unknown.text and "wrong user name or password" in wrong.text


def test_code_page_without_a_pending_login_goes_back_to_login(client: TestClient) -> None:
    assert client.get("/login/code").url.path == "/login"
    assert client.get("/enrol").url.path == "/login"


def test_change_password_asks_for_the_current_one_and_the_policy(client: TestClient) -> None:
    operator = enrolled(client, "erin")
    csrf = log_in(client, operator)
    form = {
        "csrf": csrf,
        "current": "not-my-password",
        "new_password": "Copper-Meadow-77",
        "repeat": "Copper-Meadow-77",
    }
    assert "current password is wrong" in client.post("/account/password", data=form).text
    weak = {
        **form,
        "current": operator.password,
        "new_password": "erin-erin-erin-1",
        "repeat": "erin-erin-erin-1",
    }
    assert "user name" in client.post("/account/password", data=weak).text
    assert client.post("/account/password", data={**form, "csrf": ""}).status_code == 403
    done = client.post("/account/password", data={**form, "current": operator.password})
    assert 'id="changed"' in done.text
    client.cookies.clear()
    assert (
        client.post("/login", data={"name": "erin", "password": "Copper-Meadow-77"}).url.path == "/login/code"
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/login", "/login/code", "/enrol", "/logout", "/account/password"]),
    form=st.dictionaries(
        st.sampled_from(["name", "password", "code", "csrf", "new_password", "repeat", "current", "x"]),
        st.text(max_size=600),
        max_size=6,
    ),
)
def test_login_forms_never_fail_with_a_server_error(
    client: TestClient, path: str, form: dict[str, str]
) -> None:
    response = client.post(path, data=form, follow_redirects=False)
    assert response.status_code < 500, response.text[:300]
