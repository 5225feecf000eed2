"""The live hook: records in, bans persisted and enforced by the worker, stored bans re-applied at start."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from phonewarden.cli import app as cli_app
from phonewarden.output import decode_json_lines
from phonewarden.settings import load_settings
from phonewarden.shield import live
from phonewarden.shield.bans import BanStore
from phonewarden.shield.enforce import DryRunEnforcer
from phonewarden.shield.service import ShieldService
from phonewarden.store.engine import make_engine, session_factory
from phonewarden.store.migrate import upgrade
from phonewarden.store.models import Finding
from tests.shield.records import capture


def _wait(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached in time")


def test_live_bans_are_enforced_persisted_and_reapplied_after_restart(clean_env: Path) -> None:
    settings = load_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    enforcer = DryRunEnforcer()
    service = ShieldService(settings.shield, store=BanStore(engine), enforcers=[enforcer])
    guard = live.LiveShield(service, engine)
    guard.started.wait(5)
    for record in capture("sip-scan-sipvicious.pcapng"):
        guard.on_record(record)
    _wait(lambda: "127.0.0.1" in enforcer.active())
    _wait(lambda: len(guard.applied) == 1)
    asyncio.run(guard.stop())
    assert [row.address for row in BanStore(engine).active_bans()] == ["127.0.0.1"]
    with session_factory(engine)() as session:
        kinds = {f.kind for f in session.scalars(select(Finding))}
    assert {"scanner", "enumeration", "brute-force"} <= kinds
    assert [a.action for a in enforcer.actions] == ["start", "ban", "stop"]

    again = DryRunEnforcer()
    restarted = live.LiveShield(
        ShieldService(settings.shield, store=BanStore(engine), enforcers=[again]), engine
    )
    restarted.started.wait(5)
    assert 3590 < again.active()["127.0.0.1"] <= 3600
    for record in capture("sip-scan-sipvicious.pcapng"):
        restarted.on_record(record)  # the same attack again: still inside the restored ban
    asyncio.run(restarted.stop())
    assert restarted.applied == [] and "127.0.0.1" in restarted.service.banned


def test_start_builds_the_guard_from_settings_and_survives_an_unmigrated_store(clean_env: Path) -> None:
    (clean_env / "phonewarden.toml").write_text('[shield]\nenforcers = ["dry-run"]\n')
    settings = load_settings()
    guard = live.start(settings, make_engine(settings.database_url))
    guard.started.wait(5)
    assert [e.name for e in guard.service.enforcers] == ["dry-run"]
    for record in capture("sip-scan-sipvicious.pcapng"):
        guard.on_record(record)  # the store is not migrated: logged, the HEP path goes on
    _wait(lambda: len(guard.applied) == 1)
    asyncio.run(guard.stop())
    assert not guard.thread.is_alive()


def test_a_disabled_shield_ignores_records(clean_env: Path) -> None:
    (clean_env / "phonewarden.toml").write_text("[shield]\nenabled = false\n")
    settings = load_settings()
    guard = live.start(settings, None)
    for record in capture("sip-scan-sipvicious.pcapng"):
        guard.on_record(record)
    asyncio.run(guard.stop())
    assert guard.service.records == 0 and guard.applied == []


def test_live_frames_are_ignored_and_records_after_them_are_used(clean_env: Path) -> None:
    from phonewarden.core.records import Frame

    (clean_env / "phonewarden.toml").write_text('[shield]\nenforcers = ["dry-run"]\n')
    guard = live.start(load_settings(), None)
    for record in capture("sip-scan-sipvicious.pcapng"):
        guard.on_record(Frame(record.time, 1, b"\x00" * 60, 60))  # serve hands live frames too
        guard.on_record(record)
    _wait(lambda: len(guard.applied) == 1)
    asyncio.run(guard.stop())
    assert guard.service.sip_messages == guard.service.records // 2


def test_serve_path_hep_in_ban_out_on_the_feed(clean_env: Path) -> None:
    """The console as `phonewarden serve` runs it: HEP listener -> shield -> store -> /api/v1/shield/feed."""
    import socket
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from phonewarden.console.app import create_app
    from phonewarden.shield import api
    from phonewarden.wire.hep import HepPacket, encode_hep
    from tests.conftest import free_udp_and_tcp_port

    port = free_udp_and_tcp_port()
    (clean_env / "phonewarden.toml").write_text(
        f'[hep]\nport = {port}\ntransports = ["udp"]\n[shield]\nenforcers = ["dry-run"]\n'
    )
    settings = load_settings()
    upgrade(settings.database_url)
    api.ban_store.cache_clear()
    template = HepPacket(
        version=3, ip_family=2, ip_proto=17, src="", dst="", sport=0, dport=0, time=0.0, proto_type=1,
        capture_id=2001, auth_key=None, payload=b"", correlation_id=None, vlan=None, node_name=None,
        other_chunks=[],
    )  # fmt: skip
    attacker = "198.51.100.66"
    with (
        TestClient(create_app(settings)) as client,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        for record in capture("sip-scan-sipvicious.pcapng"):
            request = record.body.status is None
            packet = replace(
                template,
                src=attacker if request else "203.0.113.5",
                dst="203.0.113.5" if request else attacker,
                sport=record.segment.sport,
                dport=record.segment.dport,
                time=record.time,
                payload=record.body.raw,
            )
            sender.sendto(encode_hep(packet), ("127.0.0.1", port))
        deadline = time.monotonic() + 10
        feed = ""
        while attacker not in feed and time.monotonic() < deadline:
            time.sleep(0.05)
            feed = client.get("/api/v1/shield/feed.txt").text
    api.ban_store.cache_clear()
    assert feed.splitlines() == [attacker]


def test_lift_ends_a_running_ban_in_the_enforcers_and_the_policy(clean_env: Path) -> None:
    settings = load_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    enforcer = DryRunEnforcer()
    guard = live.LiveShield(
        ShieldService(settings.shield, store=BanStore(engine), enforcers=[enforcer]), engine
    )
    guard.started.wait(5)
    records = list(capture("sip-scan-sipvicious.pcapng"))
    for record in records:
        guard.on_record(record)
    _wait(lambda: "127.0.0.1" in enforcer.active())
    assert live.lift(make_engine(settings.database_url), "127.0.0.1") == 0  # another database
    assert live.lift(engine, "127.0.0.1") == 1
    _wait(lambda: "127.0.0.1" not in enforcer.active())
    guard.on_record(records[0])  # the record thread makes the policy forget the ban
    assert "127.0.0.1" not in guard.service.banned
    asyncio.run(guard.stop())
    assert live.lift(engine, "127.0.0.1") == 0  # a stopped shield is no longer told


def _shield(settings: Any, engine: Any, enforcer: DryRunEnforcer) -> live.LiveShield:
    guard = live.LiveShield(
        ShieldService(settings.shield, store=BanStore(engine), enforcers=[enforcer]), engine
    )
    assert guard.started.wait(5), "the shield's worker did not start"
    return guard


def test_live_dry_run_stores_marked_would_be_bans_that_no_enforcer_or_feed_gets(
    clean_env: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (clean_env / "phonewarden.toml").write_text("[shield]\ndry_run = true\n")
    settings = load_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    enforcer = DryRunEnforcer()
    guard = _shield(settings, engine, enforcer)
    with caplog.at_level(logging.WARNING, logger="phonewarden.shield.service"):
        for record in capture("sip-scan-sipvicious.pcapng"):
            guard.on_record(record)
        _wait(lambda: BanStore(engine).active_bans(include_dry_run=True) != [])
        asyncio.run(guard.stop())
    (row,) = BanStore(engine).active_bans(include_dry_run=True)
    assert row.address == "127.0.0.1" and row.dry_run
    assert any(reason.startswith("brute-force") for reason in row.reasons)  # later reasons too
    assert BanStore(engine).active_bans() == []  # the feed's (and the provisioning gate's) view
    assert [a.action for a in enforcer.actions] == ["start", "stop"]
    assert "would ban 127.0.0.1 for 3600 s" in caplog.text

    listed = CliRunner().invoke(cli_app, ["shield", "bans"], env={"COLUMNS": "200"})
    assert "0 active bans, 1 would-be bans (dry run)" in listed.output
    assert "127.0.0.1 (dry run: not enforced)" in listed.output
    as_json = decode_json_lines(CliRunner().invoke(cli_app, ["shield", "bans", "--json"]).stdout_bytes)
    assert [(r["address"], r.get("dry_run")) for r in as_json] == [("127.0.0.1", True)]


def test_a_network_allowed_in_the_store_reaches_the_running_shield_at_the_sweep(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "SWEEP_S", 0.05)
    settings = load_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    enforcer = DryRunEnforcer()
    guard = _shield(settings, engine, enforcer)
    records = list(capture("sip-scan-sipvicious.pcapng"))
    for record in records:
        guard.on_record(record)
    _wait(lambda: "127.0.0.1" in enforcer.active())
    # `phonewarden shield allow` in another process writes only the store
    BanStore(make_engine(settings.database_url)).allow("127.0.0.0/8", "lab")
    _wait(lambda: "127.0.0.1" not in enforcer.active())
    assert BanStore(engine).active_bans() == []
    guard.on_record(records[0])  # the record thread takes the new list into the policy
    assert guard.service.policy.never_blocked("127.0.0.1") is not None
    assert "127.0.0.1" not in guard.service.banned
    asyncio.run(guard.stop())


def test_reload_allowed_tells_a_running_shield_at_once(clean_env: Path) -> None:
    settings = load_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    enforcer = DryRunEnforcer()
    guard = _shield(settings, engine, enforcer)  # the sweep is 30 s away: only the notice can do it
    for record in capture("sip-scan-sipvicious.pcapng"):
        guard.on_record(record)
    _wait(lambda: "127.0.0.1" in enforcer.active())
    BanStore(engine).allow("127.0.0.1/32", "monitoring")
    assert live.reload_allowed(make_engine(settings.database_url)) == 0  # another database
    assert live.reload_allowed(engine) == 1
    _wait(lambda: "127.0.0.1" not in enforcer.active())
    asyncio.run(guard.stop())
    assert live.reload_allowed(engine) == 0


def test_metrics_show_evictions_from_bounded_tables_and_the_queue(clean_env: Path) -> None:
    from tests.shield.records import request

    settings = load_settings()
    small = settings.shield.model_copy(update={"max_sources": 100, "max_pending_transactions": 100})
    guard = live.LiveShield(ShieldService(small, enforcers=[DryRunEnforcer()]), None)
    guard.started.wait(5)
    for index in range(300):  # more sources than the tables hold: the oldest are evicted, not kept
        guard.on_record(request(f"198.51.100.{index % 250}", 1000.0 + index / 1000, call_id=f"c{index}"))
    metrics = guard.metrics()
    asyncio.run(guard.stop())
    assert metrics["evictions"] > 0
    assert set(metrics) == {"evictions", "queue_depth", "dropped"} and metrics["dropped"] == 0
