"""Fixtures of the audit tests: the emulated phone lab (peer tests) and the config fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audit.phones import Phone, PhoneLab, require_peers

DATA = Path(__file__).resolve().parents[1] / "data" / "audit"

YEALINK_VULNERABLE = Phone(
    "198.51.100.10",
    "Yealink SIP-T46S 66.84.0.20",
    "phone_rings.xml",
    tcp=True,
    telnet=True,
    web=["--vendor", "yealink", "--password", "Xq7!secret-pw", "--lockout", "3"],
)
SNOM_HARDENED = Phone(
    "198.51.100.11",
    "snomD785/10.1.201.0",
    "phone_refuses.xml",
    tls_sip=True,
    web=["--vendor", "snom", "--redirect-https"],
    https=["--vendor", "snom", "--password", "set"],
)
YEALINK_DEFAULT = Phone(
    "198.51.100.12",
    "Yealink SIP-T42S 66.84.0.125",
    "phone_refuses.xml",
    web=["--vendor", "yealink", "--password", "admin", "--lockout", "3"],
)
YEALINK_LOCKED = Phone(
    "198.51.100.13",
    "Yealink SIP-T48S 66.84.0.90",
    "phone_refuses.xml",
    web=["--vendor", "yealink", "--password", "admin", "--lockout", "3", "--failures", "3"],
)
GRANDSTREAM_OLD = Phone(
    "198.51.100.14",
    "Grandstream GXP1625 1.0.4.100",
    "phone_rings.xml",
    web=["--vendor", "grandstream", "--password", "admin"],
)
PHONES = [YEALINK_VULNERABLE, SNOM_HARDENED, YEALINK_DEFAULT, YEALINK_LOCKED, GRANDSTREAM_OLD]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoneLab]:
    require_peers()
    lab = PhoneLab(tmp_path_factory.mktemp("phones"), PHONES)
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


# The store's database fixtures (SQLite and a throwaway PostgreSQL database) for the audit tables.
from tests.store.conftest import db_url, engine, pg_url  # noqa: E402, F401
