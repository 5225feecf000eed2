from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec import structs
from sqlalchemy import Engine, update

from phonewarden.capture.replay import CaptureError, CaptureReplay
from phonewarden.core.records import Segment
from phonewarden.shield.bans import BanStore
from phonewarden.shield.enforce import DryRunEnforcer
from phonewarden.shield.models import ShieldBan
from phonewarden.shield.policy import Decision
from phonewarden.shield.service import REPLAY_BATCH, ShieldService
from phonewarden.shield.settings import ShieldSettings
from phonewarden.store.engine import make_engine, session_factory
from phonewarden.store.migrate import upgrade
from phonewarden.wire.sip import parse_sip
from phonewarden.wire.traffic import NetworkRecord, TrafficDecoder
from tests.conftest import DATA
from tests.shield.records import SERVER, capture, request, response


def _run(service: ShieldService, records: Any) -> list[Any]:
    return [output for record in records for output in service.process(record)]


def test_real_sipvicious_capture_bans_the_scanner_with_all_reasons() -> None:
    service = ShieldService(ShieldSettings())
    outputs = _run(service, capture("sip-scan-sipvicious.pcapng"))
    detectors = {o.detector for o in outputs if o.type == "finding"}
    assert {"scanner", "enumeration", "brute-force"} <= detectors
    assert list(service.banned) == ["127.0.0.1"]
    summary = service.summary().to_json()
    assert summary["type"] == "summary" and summary["bans"] == 1 and summary["records"] == 74


def test_real_benign_capture_bans_nobody() -> None:
    for name in ("sip-udp.pcapng", "sip-tcp.pcapng", "sip-ipv6.pcapng", "hep-kamailio.pcapng"):
        service = ShieldService(ShieldSettings())
        assert [o for o in _run(service, capture(name)) if o.type == "ban"] == [], name


def _nat_burst(ip: str, start: float) -> list[Any]:
    records = []
    for n in range(20):
        user, t = str(2001 + n), start + n * 0.05
        records += [
            request(ip, t, user=user, call_id=f"r{n}"),
            response(ip, t + 0.001, 401, call_id=f"r{n}"),
            request(ip, t + 0.002, user=user, call_id=f"r{n}", cseq=2, auth=True),
            response(ip, t + 0.003, 200, call_id=f"r{n}", cseq=2, expires=3600),
        ]
    return records


def test_twenty_phones_behind_one_nat_then_a_misbehaving_burst_stay_unbanned() -> None:
    service = ShieldService(ShieldSettings())
    outputs = _run(service, _nat_burst("198.51.100.20", 0.0))
    # after they registered, the same address floods (all phones rebooting): trusted, not banned
    outputs += _run(
        service, [request("198.51.100.20", 2 + n / 100, "OPTIONS", call_id=f"o{n}") for n in range(80)]
    )
    assert [o for o in outputs if o.type == "ban"] == []
    assert "198.51.100.20" in service.suppressed


def test_a_slow_brute_forcer_with_a_phone_user_agent_is_banned() -> None:
    service = ShieldService(ShieldSettings())
    records = []
    for n in range(6):
        t = n * 20.0
        records += [
            request("203.0.113.66", t, user="alice", call_id=f"b{n}", auth=True),
            response("203.0.113.66", t + 0.01, 403, call_id=f"b{n}"),
        ]
    bans = [o for o in _run(service, records) if isinstance(o, Decision)]
    assert [(b.source, b.duration_s) for b in bans] == [("203.0.113.66", 600)]


def test_apply_enforces_nothing_in_dry_run_and_enforces_otherwise() -> None:
    enforcer = DryRunEnforcer()
    service = ShieldService(ShieldSettings(), enforcers=[enforcer])
    bans = [o for o in _run(service, capture("sip-scan-sipvicious.pcapng")) if isinstance(o, Decision)]
    for ban in bans:
        service.apply(ban)
    assert list(enforcer.active()) == ["127.0.0.1"]
    dry = DryRunEnforcer()
    service = ShieldService(ShieldSettings(dry_run=True), enforcers=[dry])
    for ban in [o for o in _run(service, capture("sip-scan-sipvicious.pcapng")) if isinstance(o, Decision)]:
        assert ban.dry_run
        service.apply(ban)
    assert dry.active() == {}


def test_spoofed_sources_are_bounded_and_the_real_flooder_still_found() -> None:
    settings = ShieldSettings(max_sources=1000, max_pending_transactions=1000)
    service = ShieldService(settings)
    attacker, found = "203.0.113.66", []
    for n in range(10_000):
        t = n * 0.0005
        service.process(request(f"198.51.{(n >> 8) & 255}.{n & 255}", t, "OPTIONS", call_id=f"s{n}"))
        if n % 10 == 0:
            found += service.process(request(attacker, t, "OPTIONS", call_id=f"a{n}"))
    assert [o.detector for o in found if o.type == "finding"] == ["flood"]
    assert list(service.banned) == [attacker]
    assert len(service.flood.requests) <= 1000 and len(service.matcher.pending) <= 1000
    assert service.flood.requests.evictions > 0  # the table really was full


_START = st.sampled_from(
    [
        b"REGISTER sip:x SIP/2.0\r\n",
        b"INVITE sip:0097259912@x SIP/2.0\r\n",
        b"SIP/2.0 401 U\r\n",
        b"SIP/2.0 404 N\r\n",
        b"",
    ]
)
_HEADERS = st.lists(
    st.sampled_from(
        [b"Call-ID: 1\r\n", b"CSeq: 1 REGISTER\r\n", b"CSeq: x\r\n", b"User-Agent: friendly-scanner\r\n",
         b"Via: SIP/2.0/UDP h;branch=z9hG4bK-1\r\n", b"From: <sip:a@b>;tag=3206210844\r\n",
         b"Authorization: Digest username=\"a\"\r\n", b"To: <sip:\xff@b>\r\n",
         b"Contact: <sip:a@b>;expires=x\r\n"]
    ),
    max_size=8,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(_START, _HEADERS, st.binary(max_size=40), st.sampled_from(["198.51.100.1", "2001:db8::1"]))
    )
)
def test_hostile_message_sequences_never_break_the_service(messages: list[Any]) -> None:
    service = ShieldService(ShieldSettings())
    for n, (start, headers, tail, src) in enumerate(messages):
        raw = start + b"".join(headers) + b"\r\n" + tail
        to_server = not start.startswith(b"SIP/2.0")
        segment = Segment(
            float(n), "udp", src if to_server else SERVER, 5060, SERVER if to_server else src, 5060, raw
        )
        for output in service.process(NetworkRecord("sip", segment, parse_sip(raw))):
            assert output.to_json()["type"] in ("finding", "ban")
    assert service.summary().to_json()["sip_messages"] == len(messages)


def test_an_enumerator_against_a_server_that_challenges_everyone_is_banned() -> None:
    """Asterisk alwaysauthreject: every probe is answered 401; the phones behind one NAT are not banned."""
    service = ShieldService(ShieldSettings())
    records = _nat_burst("198.51.100.20", 0.0)
    for n in range(40):
        t = 10 + n * 0.05
        records += [
            request("203.0.113.67", t, user=str(100 + n), call_id=f"e{n}", ua="friendly"),
            response("203.0.113.67", t + 0.001, 401, call_id=f"e{n}"),
        ]
    bans = [o for o in _run(service, records) if isinstance(o, Decision)]
    assert [b.source for b in bans] == ["203.0.113.67"]
    assert "challenged" in bans[0].reasons[0]


def _frames(*names: str) -> list[Any]:
    return [frame for name in names for frame in CaptureReplay(DATA / "captures" / name, progress=False)]


def test_replay_in_batches_gives_what_processing_frame_by_frame_gives() -> None:
    # More frames than one batch, several sources, TCP streams and HEP: batching must change nothing.
    frames = _frames("sip-scan-sipvicious.pcapng", "sip-udp.pcapng", "sip-tcp.pcapng", "hep-kamailio.pcapng")
    assert len(frames) > 2 * REPLAY_BATCH
    one_by_one, batched = ShieldService(ShieldSettings()), ShieldService(ShieldSettings())
    decoder = TrafficDecoder()
    records = [record for frame in frames for record in decoder.feed(frame)]
    expected = [output for record in records for output in one_by_one.process(record)]
    outputs = list(batched.replay(frames, TrafficDecoder()))
    assert [o.to_json() for o in outputs] == [o.to_json() for o in expected]
    assert any(o.type == "ban" for o in outputs)
    assert batched.summary().to_json() == one_by_one.summary().to_json()


def test_replay_processes_the_frames_read_before_a_read_error_then_raises_it() -> None:
    frames = _frames("sip-scan-sipvicious.pcapng")[: REPLAY_BATCH + 10]

    def failing() -> Iterator[Any]:
        yield from frames
        raise CaptureError("capture.pcap: read failed: truncated")

    service = ShieldService(ShieldSettings())
    with pytest.raises(CaptureError, match="truncated"):
        for _ in service.replay(failing(), TrafficDecoder()):
            pass
    assert service.records == len(frames)  # every frame of the capture is a SIP message


@pytest.fixture
def store(tmp_path: Path) -> Iterator[BanStore]:
    engine = make_engine(f"sqlite:///{tmp_path / 'shield.db'}")
    upgrade(engine)
    yield BanStore(engine)
    engine.dispose()


def _end(engine: Engine, address: str, ago_s: float) -> None:
    with session_factory(engine).begin() as session:
        ended = datetime.now(UTC) - timedelta(seconds=ago_s)
        session.execute(update(ShieldBan).where(ShieldBan.address == address).values(expires_at=ended))


def _live(records: Any) -> list[Any]:
    """The capture as the live shield gets it: event time (HEP agents' clocks) close to the wall clock."""
    records = list(records)
    shift = time.time() - records[0].time
    return [
        NetworkRecord(r.type, structs.replace(r.segment, time=r.time + shift), r.body, r.hep, r.hep_agent)
        for r in records
    ]


def _attack(service: ShieldService) -> list[Decision]:
    records = _live(capture("sip-scan-sipvicious.pcapng"))
    decisions = [o for o in _run(service, records) if isinstance(o, Decision)]
    for decision in decisions:
        service.apply(decision)
    return decisions


def test_a_dry_run_ban_is_stored_marked_and_logged_but_enforced_nowhere(
    store: BanStore, caplog: pytest.LogCaptureFixture
) -> None:
    enforcer = DryRunEnforcer()
    service = ShieldService(ShieldSettings(dry_run=True), store=store, enforcers=[enforcer])
    with caplog.at_level(logging.WARNING, logger="phonewarden.shield.service"):
        _attack(service)
    assert store.active_bans() == []  # the feed and the enforcers' view
    (row,) = store.active_bans(include_dry_run=True)
    assert row.address == "127.0.0.1" and row.dry_run and 3590 < row.seconds_left(datetime.now(UTC)) <= 3600
    assert [a.action for a in enforcer.actions] == []
    assert "would ban 127.0.0.1 for 3600 s: scanner:" in caplog.text


def test_reasons_found_after_the_ban_reach_the_stored_ban_and_leave_its_expiry(store: BanStore) -> None:
    service = ShieldService(ShieldSettings(), store=store)
    decisions = _attack(service)
    actions = [d.action for d in decisions]
    assert actions[0] == "ban" and "extend" in actions
    (row,) = store.active_bans()
    detectors = [reason.split(":")[0] for reason in row.reasons]
    assert detectors[0] == "scanner" and {"enumeration", "brute-force"} <= set(detectors)
    assert row.reasons == service.banned["127.0.0.1"]
    assert 3590 < row.seconds_left(datetime.now(UTC)) <= 3600  # the first ban's expiry


def test_a_repeat_offender_after_a_restart_gets_the_escalated_ban(store: BanStore) -> None:
    settings = ShieldSettings()
    enforcer = DryRunEnforcer()
    first = ShieldService(settings, store=store, enforcers=[enforcer])
    assert [(d.duration_s, d.offences) for d in _attack(first) if d.action == "ban"] == [(3600, 1)]
    _end(store.engine, "127.0.0.1", 60)  # the ban ran out a minute ago
    assert first.sweep() == ["127.0.0.1"] and enforcer.active() == {}
    assert first.sweep() == []  # lifted once

    restarted = ShieldService(settings, store=store, enforcers=[DryRunEnforcer()])
    assert restarted.restore() == []  # nothing running to re-apply, but the offence is remembered
    bans = [d for d in _attack(restarted) if d.action == "ban"]
    assert [(d.duration_s, d.offences) for d in bans] == [(3600 * 4, 2)]
    (row,) = store.active_bans()
    assert row.offences == 2 and row.seconds_left(datetime.now(UTC)) > 3600 * 4 - 10


def test_without_history_a_restart_starts_escalation_over() -> None:
    # Guards the test above: without a store the second run is a first offence again.
    assert [d.duration_s for d in _attack(ShieldService(ShieldSettings())) if d.action == "ban"] == [3600]


def test_reapply_puts_running_bans_back_and_skips_ended_ones(store: BanStore) -> None:
    store.save_ban("203.0.113.5", 600, ["flood"], 1)
    store.save_ban("203.0.113.6", 600, ["scanner"], 1)
    _end(store.engine, "203.0.113.6", 1)  # ran out between load() and reapply()
    rows = [
        replace(row, expires_at=datetime.now(UTC) - timedelta(seconds=1))
        if row.address == "203.0.113.6"
        else row
        for row in store.active_bans(include_dry_run=True) + store.ended_bans()
    ]
    assert sorted(row.address for row in rows) == ["203.0.113.5", "203.0.113.6"]
    enforcer = DryRunEnforcer()
    service = ShieldService(ShieldSettings(), store=store, enforcers=[enforcer])
    service.reapply(rows)
    assert [(a.action, a.address) for a in enforcer.actions] == [
        ("unban", "203.0.113.6"),  # the sweep first lifts what ended
        ("ban", "203.0.113.5"),
    ]
    assert list(enforcer.active()) == ["203.0.113.5"]


def test_allow_lifts_the_bans_inside_the_network_everywhere(store: BanStore) -> None:
    enforcer = DryRunEnforcer()
    service = ShieldService(ShieldSettings(), store=store, enforcers=[enforcer])
    _attack(service)
    assert service.allow("127.0.0.0/8", "lab") == ["127.0.0.1"]
    assert store.active_bans() == [] and enforcer.active() == {} and store.allowed() == ["127.0.0.0/8"]
    assert [d for d in _attack(service) if d.action == "ban"] == []
    restarted = ShieldService(ShieldSettings(), store=store)
    restarted.load()  # the allowed network comes from the store
    assert [d for d in _attack(restarted) if d.action == "ban"] == []
    assert "never-block network 127.0.0.0/8" in restarted.suppressed["127.0.0.1"]
