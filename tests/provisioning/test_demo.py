"""The provisioning sample for `phonewarden demo`: an inventory and real gate decisions, secrets sealed
with a key the device plane can open."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from phonewarden.provisioning import demo
from phonewarden.provisioning.inventory import Inventory
from phonewarden.provisioning.models import ProvEvent
from phonewarden.provisioning.pages import phones
from phonewarden.provisioning.secrets_box import DEMO_KEY_FILE, SecretBox, load_box, new_key
from phonewarden.provisioning.settings import ProvisioningSettings
from phonewarden.store.engine import make_engine, session_factory
from phonewarden.store.findings import list_findings
from phonewarden.store.migrate import upgrade
from phonewarden.store.models import Guard


def _reasons(engine: Engine) -> list[tuple[str, str]]:
    with session_factory(engine)() as session:
        rows = session.execute(select(ProvEvent.action, ProvEvent.reason).order_by(ProvEvent.id))
        return [(action, reason) for action, reason in rows if action in ("fetch", "deny")]


def test_demo_fills_inventory_and_fetch_log_through_the_gate(migrated_engine: Engine) -> None:
    key = new_key()
    line = demo.load(migrated_engine, random.Random(8), datetime.now(UTC), SecretBox(key.encode()))
    assert line.startswith("7 phones at 2 sites, 9 configs served, ")
    rows = {row.mac: row for row in phones(migrated_engine, datetime.now(UTC))}
    assert len(rows) == 7 and {row.vendor for row in rows.values()} == {"yealink", "snom", "grandstream"}
    assert rows["0015654c4c27"].window == "used up"
    assert rows["000b82aabbcc"].state == "retired"
    assert rows["000413922d24"].cert.startswith("required, verified")
    assert rows["000413922d25"].cert.startswith("required, client-cert-mac-mismatch")
    reasons = {reason for _, reason in _reasons(migrated_engine)}
    assert {"served", "served-wipe", "fetch-limit", "user-agent-mismatch", "network-not-allowed"} <= reasons
    assert {"client-cert-missing", "client-cert-mac-mismatch", "unknown-mac"} <= reasons
    with session_factory(migrated_engine)() as session:
        found = list_findings(session, guard=Guard.PROVISIONING)
    assert [f.subject for f in found] == [demo.ENUMERATOR]
    # Sealed with the given key: the inventory opens every secret with it.
    inv = Inventory(migrated_engine, SecretBox(key.encode()), ProvisioningSettings(encryption_key=key))
    assert inv.show("0015654c4c26", reveal=True)["sip_passwords"]["2001"]
    again = demo.load(migrated_engine, random.Random(8), datetime.now(UTC), SecretBox(key.encode()))
    assert again == "sample inventory present already, nothing added"


def test_without_a_key_the_demo_key_of_the_data_dir_is_used(clean_env: Path) -> None:
    url = f"sqlite:///{clean_env / 'demo.db'}"
    upgrade(url)
    engine = make_engine(url)
    demo.load(engine, random.Random(1), datetime.now(UTC))
    data_dir = clean_env / "var"
    assert (data_dir / DEMO_KEY_FILE).stat().st_mode & 0o777 == 0o600
    box = load_box(ProvisioningSettings(demo=True), data_dir)  # what `demo = true` serves with
    inv = Inventory(engine, box, ProvisioningSettings(demo=True))
    assert inv.for_gate("000413922d24") is not None  # decrypts: the key matches
    engine.dispose()
