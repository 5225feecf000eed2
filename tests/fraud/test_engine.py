from __future__ import annotations

from pathlib import Path

from phonewarden.core.records import Segment
from phonewarden.fraud.engine import FraudEngine
from phonewarden.fraud.settings import FraudSettings
from phonewarden.wire.sip import parse_sip
from phonewarden.wire.traffic import NetworkRecord

T0 = 1_767_571_200.0


def _sip(text: str, t: float) -> NetworkRecord:  # type: ignore[type-arg]
    raw = text.replace("\n", "\r\n").encode()
    return NetworkRecord(
        "sip", Segment(t, "udp", "198.51.100.7", 5060, "203.0.113.5", 5060, raw), parse_sip(raw)
    )


INVITE = """INVITE sip:{number}@pbx.example.test SIP/2.0
Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK{n}
From: <sip:alice@pbx.example.test>;tag=f{n}
To: <sip:{number}@pbx.example.test>
Call-ID: call-{n}
CSeq: 1 INVITE
Content-Length: 0

"""
OK = """SIP/2.0 200 OK
Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK{n}
From: <sip:alice@pbx.example.test>;tag=f{n}
To: <sip:{number}@pbx.example.test>;tag=t{n}
Call-ID: call-{n}
CSeq: 1 INVITE
Content-Length: 0

"""
BYE = """BYE sip:{number}@pbx.example.test SIP/2.0
Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKb{n}
From: <sip:alice@pbx.example.test>;tag=f{n}
To: <sip:{number}@pbx.example.test>;tag=t{n}
Call-ID: call-{n}
CSeq: 2 BYE
Content-Length: 0

"""


def test_sip_records_open_and_close_live_calls() -> None:
    engine = FraudEngine(FraudSettings(concurrency_cap=2))
    outputs = []
    for n in range(3):
        outputs += engine.on_sip(_sip(INVITE.format(n=n, number="0025261234567"), T0 + n))
        outputs += engine.on_sip(_sip(OK.format(n=n, number="0025261234567"), T0 + n + 0.5))
    assert [o.type for o in outputs] == ["alert", "restriction"]
    assert engine.live.open_calls("alice", T0 + 5) and len(engine.live.open_calls("alice", T0 + 5)) == 3
    for n in range(3):
        engine.on_sip(_sip(BYE.format(n=n, number="0025261234567"), T0 + 10))
    assert engine.live.by_account == {}
    assert not engine.authorize("alice", "0025261234567", T0 + 20).allow
    assert engine.authorize("alice", "030123456", T0 + 20).allow


def test_rated_ahead_gives_the_records_of_a_cdr_by_cdr_replay(tmp_path: Path) -> None:
    """A chunk's new numbers are rated before its CDRs meet the detectors: same CDRs in the same
    order, and a replay gives the same alerts and restrictions as one fed CDR by CDR."""
    from phonewarden.fraud import engine as engine_module
    from phonewarden.fraud.readers import ReadReport, read_cdrs
    from tests.fraud.scenario import build, cdr_lines

    calls, _ = build(seed=3, accounts=30, weeks=3)
    path = tmp_path / "Master.csv"
    path.write_text("".join(cdr_lines(calls)))
    settings = FraudSettings()

    def replay(ahead: bool) -> list[dict[str, object]]:
        engine = FraudEngine(settings)
        cdrs = read_cdrs(path, settings, ReadReport())
        records = []
        for cdr in engine.rated_ahead(cdrs) if ahead else cdrs:
            if ahead:
                assert cdr.destination in engine.rater.ratings  # rated before it is processed
            records += [output.to_json() for output in engine.on_cdr(cdr)]
        return records + [output.to_json() for output in engine.tick(engine.now)]

    plain = replay(ahead=False)
    assert any(record["type"] == "restriction" for record in plain)  # the scenario's attacks
    assert replay(ahead=True) == plain
    engine = FraudEngine(settings)
    cdrs = list(read_cdrs(path, settings, ReadReport()))
    assert len(cdrs) > engine_module.RATE_AHEAD  # more than one chunk
    assert list(engine.rated_ahead(iter(cdrs))) == cdrs
