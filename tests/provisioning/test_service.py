"""One fetch end to end without HTTP: gate, render, fetch count, digest challenge, enumeration -> ban."""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import Engine, select

from phonewarden.provisioning import digest
from phonewarden.provisioning.bans import ShieldBans
from phonewarden.provisioning.eventlog import EventLog
from phonewarden.provisioning.inventory import Inventory
from phonewarden.provisioning.models import ProvEvent
from phonewarden.provisioning.service import DENIED, Fetch, ProvisioningService
from phonewarden.provisioning.settings import GateDefaults, ProvisioningSettings
from phonewarden.shield.bans import BanStore
from phonewarden.shield.settings import ShieldSettings
from phonewarden.store.engine import session_factory
from phonewarden.store.findings import list_findings
from phonewarden.store.models import Guard

MAC = "0015654c4c26"
UA = "Yealink SIP-T46S 66.86.0.15 00:15:65:4c:4c:26"
PHONE = "10.20.0.5"


def service(inventory: Inventory, engine: Engine, **changes: object) -> ProvisioningService:
    settings = inventory.settings.model_copy(update=changes)
    bans = ShieldBans(ShieldSettings(), engine, enforcers=[])
    return ProvisioningService(inventory, settings, bans=bans, events=EventLog(engine), engine=engine)


def enroll(inventory: Inventory, **rules: object) -> None:
    inventory.add_site("hq", networks=["10.20.0.0/16"], max_fetches=2, **rules)
    inventory.add_device(MAC, "yealink", "T46S", "hq", "alice", [("2001", "Alice")])


def logged(engine: Engine, svc: ProvisioningService) -> list[tuple[str, str]]:
    assert svc.events is not None
    svc.events.flush()
    with session_factory(engine)() as session:
        return [(e.action, e.reason) for e in session.scalars(select(ProvEvent).where(
            ProvEvent.action.in_(["fetch", "deny", "ban"])).order_by(ProvEvent.id))]  # fmt: skip


def test_phone_gets_its_config_until_the_count_runs_out(inventory: Inventory, sqlite_engine: Engine) -> None:
    enroll(inventory)
    svc = service(inventory, sqlite_engine)
    answers = [svc.handle(Fetch(PHONE, f"/{MAC}.cfg", user_agent=UA)) for _ in range(3)]
    password = inventory.show(MAC, reveal=True)["sip_passwords"]["2001"]
    assert [a.status for a in answers] == [200, 200, 404]
    assert f"account.1.password = {password}".encode() in answers[0].body
    assert ("cache-control", "no-store") in answers[0].headers
    assert answers[2] == DENIED
    assert logged(sqlite_engine, svc) == [("fetch", "served"), ("fetch", "served"), ("deny", "fetch-limit")]


def test_digest_challenge_then_the_right_answer_gets_the_config(
    inventory: Inventory, sqlite_engine: Engine
) -> None:
    enroll(inventory, require_digest=True)
    svc = service(inventory, sqlite_engine)
    path = f"/{MAC}.cfg"
    first = svc.handle(Fetch(PHONE, path, user_agent=UA))
    unknown = svc.handle(Fetch(PHONE, "/001565000001.cfg", user_agent=UA))
    assert first.status == unknown.status == 401
    challenge = dict(first.headers)["www-authenticate"]
    nonce = digest.parse(challenge)["nonce"]
    found = inventory.for_gate(MAC)
    assert found is not None
    secret = found[2].reveal()

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    response = md5(f"{md5(f'{MAC}:{digest.REALM}:{secret}')}:{nonce}:00000001:abc:auth:{md5(f'GET:{path}')}")
    header = (f'Digest username="{MAC}", realm="{digest.REALM}", nonce="{nonce}", uri="{path}", qop=auth, '
              f'nc=00000001, cnonce="abc", response="{response}"')  # fmt: skip
    assert svc.handle(Fetch(PHONE, path, user_agent=UA, authorization=header)).status == 200
    wrong = header.replace(response, "0" * 32)
    assert svc.handle(Fetch(PHONE, path, user_agent=UA, authorization=wrong)) == DENIED
    assert logged(sqlite_engine, svc)[-2:] == [("fetch", "served"), ("deny", "digest-failed")]


def test_enumeration_becomes_a_ban_and_a_finding(inventory: Inventory, sqlite_engine: Engine) -> None:
    enroll(inventory, require_user_agent=False)
    svc = service(inventory, sqlite_engine, enum_failures=5)
    now = time.time()
    answers = [svc.handle(Fetch("10.20.9.9", f"/001565{n:06x}.cfg"), now + n * 0.01) for n in range(30)]
    assert {a.status for a in answers} == {404}
    assert [b.address for b in BanStore(sqlite_engine).active_bans()] == ["10.20.9.9"]
    events = logged(sqlite_engine, svc)
    assert events[:5] == [("deny", "unknown-mac")] * 5 and events[5][0] == "ban"
    assert {reason for _, reason in events[6:]} == {"banned"}
    with session_factory(sqlite_engine)() as session:
        assert [f.subject for f in list_findings(session, guard=Guard.PROVISIONING)] == ["10.20.9.9"]
    # The enrolled phone from another address is not affected.
    assert svc.handle(Fetch(PHONE, f"/{MAC}.cfg", user_agent=UA)).status == 200


def test_common_file_has_no_secrets_and_follows_the_default_rules(
    inventory: Inventory, sqlite_engine: Engine, prov_settings: ProvisioningSettings
) -> None:
    enroll(inventory)
    svc = service(inventory, sqlite_engine, gate=GateDefaults(networks=["10.20.0.0/16"]))
    common = svc.handle(Fetch(PHONE, "/y000000000028.cfg"))
    assert common.status == 200 and b"password" not in common.body.lower()
    assert prov_settings.public_url.encode() in common.body
    # The common file follows the default rules ([provisioning.gate]): no device, no site.
    assert svc.handle(Fetch("192.0.2.1", "/y000000000028.cfg")) == DENIED
