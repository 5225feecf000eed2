"""Shield bans from provisioning findings: the shield's policy, its ban store, its never-block list."""

from __future__ import annotations

import time

from sqlalchemy import Engine

from phonewarden.provisioning import bans as bans_module
from phonewarden.provisioning.bans import ShieldBans
from phonewarden.provisioning.enumeration import DETECTOR
from phonewarden.shield.bans import BanStore
from phonewarden.shield.findings import Finding
from phonewarden.shield.settings import ShieldSettings


def finding(source: str) -> Finding:
    return Finding(DETECTOR, source, time.time(), "20 denied provisioning requests", "high", {})


def test_a_finding_becomes_a_stored_ban_and_the_source_is_refused(sqlite_engine: Engine) -> None:
    bans = ShieldBans(ShieldSettings(ban_s=600), sqlite_engine, enforcers=[])
    assert not bans.is_banned("192.0.2.50")
    decision = bans.report(finding("192.0.2.50"))
    assert (decision.action, decision.duration_s) == ("ban", 600)
    assert bans.is_banned("192.0.2.50") and not bans.is_banned("192.0.2.51")
    assert [b.address for b in BanStore(sqlite_engine).active_bans()] == ["192.0.2.50"]
    assert bans.report(finding("192.0.2.50")).action == "extend"


def test_never_block_networks_are_not_banned(sqlite_engine: Engine) -> None:
    bans = ShieldBans(ShieldSettings(never_block=["192.0.2.0/24"]), sqlite_engine, enforcers=[])
    assert bans.report(finding("192.0.2.60")).action == "suppressed"
    assert not bans.is_banned("192.0.2.60")
    assert BanStore(sqlite_engine).active_bans() == []


def test_bans_made_by_the_shield_elsewhere_are_picked_up(sqlite_engine: Engine) -> None:
    bans = ShieldBans(ShieldSettings(), sqlite_engine, enforcers=[])
    now = time.time()
    assert not bans.is_banned("203.0.113.9", now)
    BanStore(sqlite_engine).save_ban("203.0.113.9", 300, ["shield: scanner"], 1)
    assert not bans.is_banned("203.0.113.9", now + 1)  # not refreshed yet
    assert bans.is_banned("203.0.113.9", now + bans_module.REFRESH_S + 1)


def test_without_a_database_bans_live_in_memory() -> None:
    bans = ShieldBans(ShieldSettings(), None, enforcers=[])
    bans.report(finding("198.51.100.4"))
    now = time.time()
    assert bans.is_banned("198.51.100.4", now + 60)
    assert not bans.is_banned("198.51.100.4", now + 601)  # the shield's ban_s ran out
