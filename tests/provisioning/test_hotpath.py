"""The fetch hot path on SQLite and PostgreSQL: changes show on the next fetch, a cached config never
outlives a rotation, fetch counts are enforced in memory and reach the database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from phonewarden.provisioning.hotpath import HotPath
from phonewarden.provisioning.inventory import Inventory
from phonewarden.provisioning.secrets_box import SecretBox
from phonewarden.provisioning.settings import ProvisioningSettings

MAC = "0015654c4c26"


@pytest.fixture
def inv(migrated_engine: Engine, prov_settings: ProvisioningSettings) -> Iterator[Inventory]:
    assert prov_settings.encryption_key
    inventory = Inventory(migrated_engine, SecretBox(prov_settings.encryption_key.encode()), prov_settings)
    inventory.add_site("hq", networks=["10.20.0.0/16"], max_fetches=3)
    inventory.add_device(MAC, "yealink", "T46S", "hq", "alice", [("2001", "Alice")])
    yield inventory


def password(inv: Inventory) -> str:
    return str(inv.show(MAC, reveal=True)["sip_passwords"]["2001"])


@pytest.mark.peer
def test_the_view_matches_the_inventory_and_sees_changes_at_once(inv: Inventory) -> None:
    hot = HotPath(inv)
    assert hot.view("001565000001") is None
    found = hot.view(MAC)
    assert found is not None
    _, device = found
    assert (device.mac, device.state, device.fetches, device.rules.networks) == (
        MAC,
        "active",
        0,
        ("10.20.0.0/16",),
    )
    slow = inv.for_gate(MAC)
    assert slow is not None and slow[0] == device
    inv.set_site("hq", networks=["192.0.2.0/24"])
    inv.retire(MAC)
    changed = hot.view(MAC)
    assert changed is not None
    assert (changed[1].state, changed[1].wipe_pending, changed[1].rules.networks) == (
        "retired",
        True,
        ("192.0.2.0/24",),
    )


@pytest.mark.peer
def test_a_cached_config_never_serves_a_rotated_password(inv: Inventory) -> None:
    hot = HotPath(inv)
    row_id, device = hot.view(MAC) or (0, None)
    assert device is not None
    old = password(inv)
    assert f"account.1.password = {old}" in hot.body(row_id, device, wipe=False)
    inv.rotate(MAC)
    row_id, device = hot.view(MAC) or (0, None)
    assert device is not None
    new = password(inv)
    body = hot.body(row_id, device, wipe=False)
    assert new != old and f"account.1.password = {new}" in body and old not in body


@pytest.mark.peer
def test_counts_are_enforced_in_memory_and_flushed_to_the_database(inv: Inventory) -> None:
    hot = HotPath(inv, flush_s=3600)
    for _ in range(3):
        row_id, device = hot.view(MAC) or (0, None)
        assert device is not None and hot.count(row_id, device, wipe=False)
    row_id, device = hot.view(MAC) or (0, None)
    assert device is not None and device.fetches == 3  # the gate now says fetch-limit
    assert inv.show(MAC)["fetches"] == 0  # not written yet
    hot.flush()
    assert inv.show(MAC)["fetches"] == 3
    assert hot.view(MAC) == (row_id, device)  # stored + pending = 3, no double counting


@pytest.mark.peer
def test_flush_zero_writes_every_fetch_atomically(inv: Inventory) -> None:
    hot = HotPath(inv, flush_s=0)
    outcomes = []
    for _ in range(4):
        row_id, device = hot.view(MAC) or (0, None)
        assert device is not None
        outcomes.append(hot.count(row_id, device, wipe=False))
    assert outcomes == [True, True, True, False] and inv.show(MAC)["fetches"] == 3


@pytest.mark.peer
def test_fetches_made_before_a_window_is_reopened_do_not_count_in_the_new_one(inv: Inventory) -> None:
    hot = HotPath(inv, flush_s=3600)
    for _ in range(2):
        row_id, device = hot.view(MAC) or (0, None)
        assert device is not None and hot.count(row_id, device, wipe=False)
    inv.open_window(MAC, hours=1)  # e.g. by the operator, from the CLI: fetches start at 0 again
    reopened = hot.view(MAC)
    assert reopened is not None and reopened[1].fetches == 0
    hot.flush()
    assert inv.show(MAC)["fetches"] == 0
    row_id, device = hot.view(MAC) or (0, None)
    assert device is not None and hot.count(row_id, device, wipe=False)
    hot.flush()
    assert inv.show(MAC)["fetches"] == 1
