from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.capture.replay import CaptureError, CaptureReplay
from phonewarden.core.records import Segment
from phonewarden.shield.enforce import DryRunEnforcer
from phonewarden.shield.policy import Decision
from phonewarden.shield.service import REPLAY_BATCH, ShieldService
from phonewarden.shield.settings import ShieldSettings
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


def test_apply_persists_nothing_in_dry_run_and_enforces_otherwise() -> None:
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
