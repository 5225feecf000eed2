from __future__ import annotations

from pathlib import Path

from phonewarden.audit.checks_config import check_config
from phonewarden.audit.configs import parse_config_text
from phonewarden.audit.results import Status


def _statuses(name: str, text: str) -> dict[str, tuple[Status, str]]:
    return {r.check: (r.status, r.detail) for r in check_config(parse_config_text(Path(name), text), 0.0)}


def test_yealink_admin_and_user_lines_are_told_apart() -> None:
    text = (
        "#!version:1.0.0.1\nstatic.security.user_password = admin:Vb7#kq2LmPz9\n"
        "static.security.user_password = user:user\n"
    )
    found = _statuses("y.cfg", text)
    assert found["default-admin-password"][0] is Status.PASS
    assert found["default-user-password"][0] is Status.FAIL
    assert found["weak-admin-password"][0] is Status.PASS


def test_weak_admin_password_is_reported_without_the_secret() -> None:
    found = _statuses("y.cfg", "#!version:1.0.0.1\nstatic.security.user_password = admin:Sommer2024\n")
    assert found["weak-admin-password"][0] is Status.PASS  # 10 characters, letters and digits
    found = _statuses("y.cfg", "#!version:1.0.0.1\nstatic.security.user_password = admin:hunter2\n")
    status, detail = found["weak-admin-password"]
    assert status is Status.FAIL and "hunter2" not in detail and "shorter than 10" in detail


def test_grandstream_factory_admin_counts_as_default_and_absence_is_unknown() -> None:
    xml = '<gs_provision version="1"><config version="1"><P2>{}</P2></config></gs_provision>'
    assert _statuses("g.xml", xml.format("admin"))["default-admin-password"][0] is Status.FAIL
    assert _statuses("g.xml", xml.format("Rt6#pLz9Qw2m"))["default-admin-password"][0] is Status.PASS
    empty = '<gs_provision version="1"><config version="1"><P30>x</P30></config></gs_provision>'
    assert _statuses("g.xml", empty)["default-admin-password"][0] is Status.UNKNOWN


def test_sip_password_equal_to_user_name_is_weak() -> None:
    text = "#!version:1.0.0.1\naccount.1.user_name = alice1234567\naccount.1.password = alice1234567\n"
    status, detail = _statuses("y.cfg", text)["weak-sip-password"]
    assert status is Status.FAIL and "same as the user name" in detail
