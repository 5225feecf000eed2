"""The inventory and its lifecycle on SQLite and PostgreSQL: secrets sealed at rest, every change audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select, text

from phonewarden.provisioning.inventory import Inventory, InventoryError
from phonewarden.provisioning.models import ProvEvent
from phonewarden.provisioning.secrets_box import SecretBox
from phonewarden.provisioning.settings import ProvisioningSettings
from phonewarden.store.engine import session_factory

MAC = "0015654c4c26"


@pytest.fixture
def inv(migrated_engine: Engine, prov_settings: ProvisioningSettings) -> Iterator[Inventory]:
    assert prov_settings.encryption_key
    inventory = Inventory(migrated_engine, SecretBox(prov_settings.encryption_key.encode()), prov_settings)
    inventory.add_site("hq", networks=["10.20.0.0/16"], max_fetches=2)
    yield inventory


def actions(engine: Engine) -> list[str]:
    with session_factory(engine)() as session:
        return [e.action for e in session.scalars(select(ProvEvent).order_by(ProvEvent.id))]


def add(inv: Inventory) -> dict[str, object]:
    return inv.add_device(
        "00:15:65:4C:4C:26", "Yealink", "T46S", "hq", "alice", [("2001", "Alice"), ("2002", "")]
    )


@pytest.mark.peer
def test_add_generates_sealed_secrets_and_opens_the_window(inv: Inventory) -> None:
    shown = add(inv)
    assert (shown["mac"], shown["vendor"], shown["site"], shown["state"]) == (MAC, "yealink", "hq", "active")
    assert [line["username"] for line in shown["lines"]] == ["2001", "2002"]  # type: ignore[attr-defined]
    passwords = inv.show(MAC, reveal=True)["sip_passwords"]
    assert len(set(passwords.values())) == 2 and all(len(p) == 24 for p in passwords.values())
    with inv.engine.connect() as connection:
        raw = " ".join(str(row) for row in connection.execute(text("SELECT * FROM prov_accounts")))
        raw += " ".join(str(row) for row in connection.execute(text("SELECT * FROM prov_devices")))
    assert all(p not in raw for p in passwords.values())
    found = inv.for_gate(MAC)
    assert found is not None
    device, target, digest_secret = found
    assert device.rules.networks == ("10.20.0.0/16",) and device.rules.max_fetches == 2
    assert device.window_from is not None and device.window_until is not None
    assert device.window_until - device.window_from == pytest.approx(72 * 3600)
    assert [line.password.reveal() for line in target.lines] == list(passwords.values())
    assert len(digest_secret.reveal()) == 24
    assert actions(inv.engine) == ["site-add", "add", "reveal"]


@pytest.mark.peer
def test_bad_requests_name_what_is_wrong(inv: Inventory) -> None:
    add(inv)
    with pytest.raises(InventoryError, match="0015654c4c26 is in the inventory already"):
        add(inv)
    with pytest.raises(InventoryError, match="vendor 'cisco'"):
        inv.add_device("001565000001", "cisco", "7960", "hq", "", [("3001", "")])
    with pytest.raises(InventoryError, match="no site 'branch'"):
        inv.add_device("001565000001", "snom", "D785", "branch", "", [("3001", "")])
    with pytest.raises(InventoryError, match="SIP user '2001' belongs to another device"):
        inv.add_device("001565000001", "snom", "D785", "hq", "", [("2001", "")])
    with pytest.raises(InventoryError, match="at least one line"):
        inv.add_device("001565000001", "snom", "D785", "hq", "", [])
    with pytest.raises(ValueError, match="not a MAC"):
        inv.show("nope")
    with pytest.raises(InventoryError, match="no device 001565999999"):
        inv.retire("001565999999")
    with pytest.raises(InventoryError, match="site 'hq' exists already"):
        inv.add_site("hq")
    with pytest.raises(InventoryError, match=r"'10\.0\.0\.0/33'"):
        inv.set_site("hq", networks=["10.0.0.0/33"])
    with pytest.raises(InventoryError, match="max_fetches must be at least 1"):
        inv.set_site("hq", max_fetches=0)


@pytest.mark.peer
def test_retire_rotates_every_secret_closes_the_window_and_wipes_next(inv: Inventory) -> None:
    add(inv)
    before = inv.for_gate(MAC)
    assert before is not None
    retired = inv.retire(MAC, "returned to stock")
    after = inv.for_gate(MAC)
    assert after is not None
    assert (retired["state"], retired["wipe_pending"], retired["config_version"]) == ("retired", True, 2)
    for old, new in zip(before[1].lines, after[1].lines, strict=True):
        assert old.password != new.password
    assert before[1].admin_password != after[1].admin_password and before[2] != after[2]
    assert after[0].window_until is not None and after[0].window_until <= datetime.now(UTC).timestamp()
    with pytest.raises(InventoryError, match="retired: reassign it first"):
        inv.open_window(MAC)
    assert inv.record_fetch(MAC, wipe=True, max_fetches=2) and not inv.record_fetch(MAC, True, 2)
    inv.add_site("branch")
    moved = inv.reassign(MAC, "bob", "branch")
    assert (moved["owner"], moved["site"], moved["state"], moved["wipe_pending"]) == (
        "bob",
        "branch",
        "active",
        True,
    )
    opened = inv.open_window(MAC, hours=1)
    assert opened["fetches"] == 0
    assert actions(inv.engine)[-4:] == ["retire", "site-add", "reassign", "open"]


@pytest.mark.peer
def test_fetch_count_consent_and_rotation(inv: Inventory) -> None:
    add(inv)
    assert [inv.record_fetch(MAC, False, 2) for _ in range(3)] == [True, True, False]
    old = inv.show(MAC, reveal=True)["sip_passwords"]
    rotated = inv.rotate(MAC)
    assert rotated["config_version"] == 2 and rotated["approved_version"] == 1
    assert inv.show(MAC, reveal=True)["sip_passwords"] != old
    assert inv.approve(MAC, "customer alice")["approved_version"] == 2
    inv.set_site("hq", require_digest=True)
    assert inv.digest_required_somewhere()
    assert [d["mac"] for d in inv.devices("hq")] == [MAC] and inv.devices() == inv.devices("hq")
    assert inv.sites()[0]["require_digest"] is True
