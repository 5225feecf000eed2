"""Real HTTPS with a test CA and client certificates: what phones get, what everyone else gets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from phonewarden.provisioning.gate import Reason
from phonewarden.provisioning.inventory import Inventory
from phonewarden.provisioning.models import ProvEvent
from phonewarden.provisioning.settings import ProvisioningSettings
from phonewarden.shield.bans import BanStore
from phonewarden.store.engine import session_factory
from phonewarden.store.findings import list_findings
from phonewarden.store.models import Guard
from tests.provisioning.lab import Lab, https_lab

MAC = "0015654c4c26"
UA = "Yealink SIP-T46S 66.86.0.15 00:15:65:4c:4c:26"


@pytest.fixture
def lab(tmp_path: Path, sqlite_engine: Engine, prov_settings: ProvisioningSettings) -> Iterator[Lab]:
    assert prov_settings.encryption_key
    with https_lab(tmp_path, sqlite_engine, prov_settings.encryption_key, enum_failures=20) as running:
        yield running


def enroll(lab: Lab, inventory: Inventory, **rules: object) -> None:
    inventory.add_site("hq", networks=["127.0.0.0/8"], max_fetches=2, require_client_cert=True, **rules)
    inventory.add_device(MAC, "yealink", "T46S", "hq", "alice", [("2001", "Alice")])


def reasons(engine: Engine) -> list[str]:
    with session_factory(engine)() as session:
        return [
            e.reason
            for e in session.scalars(
                select(ProvEvent).where(ProvEvent.action.in_(["fetch", "deny"])).order_by(ProvEvent.id)
            )
        ]


def flush(lab: Lab) -> None:
    assert lab.service.events is not None
    lab.service.events.flush()


@pytest.mark.peer
def test_enrolled_phone_with_its_certificate_gets_its_config_and_then_the_count_runs_out(
    lab: Lab, inventory: Inventory, sqlite_engine: Engine
) -> None:
    enroll(lab, inventory)
    cert = lab.device_ca.issue("phone", "00:15:65:4C:4C:26")
    with lab.phone(cert) as phone:
        first = phone.get(f"/{MAC}.cfg", headers={"User-Agent": UA})
        common = phone.get("/y000000000028.cfg", headers={"User-Agent": UA})
        second = phone.get(f"/{MAC}.cfg", headers={"User-Agent": UA})
        third = phone.get(f"/{MAC}.cfg", headers={"User-Agent": UA})
    password = inventory.show(MAC, reveal=True)["sip_passwords"]["2001"]
    assert first.status_code == 200 and f"account.1.password = {password}" in first.text
    assert common.status_code == 200 and password not in common.text
    assert second.status_code == 200 and third.status_code == 404
    flush(lab)
    assert reasons(sqlite_engine) == ["served", "served-common", "served", "fetch-limit"]


@pytest.mark.peer
def test_each_denial_is_the_same_answer_with_its_own_logged_reason(
    lab: Lab, inventory: Inventory, sqlite_engine: Engine
) -> None:
    enroll(lab, inventory)
    good = lab.device_ca.issue("phone", MAC)
    other_mac = lab.device_ca.issue("other", "001565aaaaaa")
    rogue = lab.rogue_ca.issue("rogue", MAC)
    with lab.phone(other_mac) as phone:
        wrong_cert = phone.get(f"/{MAC}.cfg", headers={"User-Agent": UA})
    with lab.phone(None) as phone:
        no_cert = phone.get(f"/{MAC}.cfg", headers={"User-Agent": UA})
    with lab.phone(good) as phone:
        wrong_ua = phone.get(f"/{MAC}.cfg", headers={"User-Agent": "curl/8.0"})
        wrong_ua_mac = phone.get(
            f"/{MAC}.cfg", headers={"User-Agent": "Yealink SIP-T46S 66.86.0.15 00:15:65:00:00:01"}
        )
        unknown = phone.get("/001565123456.cfg", headers={"User-Agent": UA})
    # The TLS layer refuses a certificate from a foreign CA.
    with pytest.raises(Exception), lab.phone(rogue) as phone:  # noqa: B017
        phone.get(f"/{MAC}.cfg", headers={"User-Agent": UA})
    inventory.set_site("hq", networks=["198.51.100.0/24"])
    with lab.phone(good) as phone:
        wrong_network = phone.get(f"/{MAC}.cfg", headers={"User-Agent": UA})
    inventory.set_site("hq", networks=["127.0.0.0/8"])
    inventory.retire(MAC)  # wipe once, then closed
    inventory.reassign(MAC, "bob")
    with lab.phone(good) as phone:
        wipe = phone.get(f"/{MAC}.cfg", headers={"User-Agent": UA})
        closed = phone.get(f"/{MAC}.cfg", headers={"User-Agent": UA})
    answers = [wrong_cert, no_cert, wrong_ua, wrong_ua_mac, unknown, wrong_network, closed]
    assert {(r.status_code, r.content, r.headers.get("content-type")) for r in answers} == {
        (404, b"Not Found\n", "text/plain; charset=utf-8")
    }
    assert wipe.status_code == 200 and "account.1.enable = 0" in wipe.text
    flush(lab)
    assert reasons(sqlite_engine) == [
        Reason.CERT_MAC, Reason.NO_CERT, Reason.USER_AGENT, Reason.USER_AGENT_MAC, Reason.UNKNOWN_MAC,
        Reason.NETWORK, Reason.SERVED_WIPE, Reason.WINDOW_CLOSED,
    ]  # fmt: skip


@pytest.mark.peer
def test_enumerating_10000_macs_from_one_address_gets_nothing_and_a_shield_ban(
    lab: Lab, inventory: Inventory, sqlite_engine: Engine
) -> None:
    enroll(lab, inventory, require_user_agent=False)
    inventory.set_site("hq", require_client_cert=False)
    statuses: dict[int, int] = {}
    with lab.phone(None, source="127.0.0.23") as attacker:
        for suffix in range(10_000):  # bounded: 10,000 requests on one keep-alive connection
            mac = f"001565{0x4C0000 + suffix:06x}"  # includes the enrolled 00:15:65:4c:4c:26
            status = attacker.get(f"/{mac}.cfg", headers={"User-Agent": UA}).status_code
            statuses[status] = statuses.get(status, 0) + 1
    assert statuses == {404: 10_000}
    bans = BanStore(sqlite_engine).active_bans()
    assert [b.address for b in bans] == ["127.0.0.23"]
    flush(lab)
    log = reasons(sqlite_engine)
    assert log[:20] == [Reason.UNKNOWN_MAC] * 20 and set(log[20:]) == {Reason.BANNED}
    finding = list_findings(session_factory(sqlite_engine)(), guard=Guard.PROVISIONING)
    assert [f.subject for f in finding] == ["127.0.0.23"]
    with lab.phone(lab.device_ca.issue("phone", MAC), source="127.0.0.1") as phone:  # others are not affected
        assert phone.get(f"/{MAC}.cfg", headers={"User-Agent": UA}).status_code == 200


@pytest.mark.peer
def test_digest_challenge_looks_the_same_for_known_and_unknown_macs(lab: Lab, inventory: Inventory) -> None:
    enroll(lab, inventory, require_digest=True)
    inventory.set_site("hq", require_client_cert=False)
    with lab.phone(None) as phone:
        known = phone.get(f"/{MAC}.cfg", headers={"User-Agent": UA})
        unknown = phone.get("/001565000001.cfg", headers={"User-Agent": UA})
    assert known.status_code == unknown.status_code
