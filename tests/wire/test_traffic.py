"""Which decoder a payload reaches: SIP by start line on any port, HEP by magic, DNS by port,
HTTP/TLS by a TCP stream's first bytes; bounded stream state."""

from __future__ import annotations

from pathlib import Path

from phonewarden.core.records import Segment
from phonewarden.wire.hep import HepPacket, encode_hep
from phonewarden.wire.traffic import TrafficDecoder

DATA = Path(__file__).resolve().parent.parent / "data"
OPTIONS = (
    b"OPTIONS sip:100@203.0.113.5 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bK-1;rport\r\n"
    b"From: <sip:100@198.51.100.7>;tag=1\r\nTo: <sip:100@203.0.113.5>\r\nCall-ID: 1234\r\n"
    b"CSeq: 1 OPTIONS\r\nUser-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n"
)


def seg(
    payload: bytes, transport: str = "udp", sport: int = 40000, dport: int = 40001, t: float = 1.0
) -> Segment:
    return Segment(t, transport, "198.51.100.7", sport, "203.0.113.5", dport, payload)


def test_sip_is_found_on_any_port_and_garbage_on_5060_is_not_sip() -> None:
    decoder = TrafficDecoder()
    [record] = decoder.segment(seg(OPTIONS, sport=41234, dport=6543))
    assert record.type == "sip" and record.body.user_agent == "friendly-scanner"
    assert record.to_json()["dport"] == 6543
    assert decoder.segment(seg(b"\x00\x01 not sip at all", dport=5060)) == []


def test_dns_only_on_dns_ports_and_undecodable_dns_is_counted() -> None:
    query = bytes.fromhex("abcd01000001000000000000") + b"\x05phone\x07example\x04test\x00\x00\x01\x00\x01"
    decoder = TrafficDecoder()
    [record] = decoder.segment(seg(query, dport=53))
    assert record.type == "dns" and record.body.questions[0].name == "phone.example.test"
    assert decoder.segment(seg(query, dport=5300)) == []
    assert decoder.segment(seg(b"\x01", dport=53)) == []
    assert decoder.anomalies["dns-undecodable"] == 1


def test_hep_in_udp_gives_the_inner_sip_with_hep_facts() -> None:
    packet = HepPacket(
        version=3, ip_family=2, ip_proto=17, src="198.51.100.9", dst="203.0.113.5", sport=5062, dport=5060,
        time=1_700_000_123.5, proto_type=1, capture_id=7, auth_key=None, payload=OPTIONS,
        correlation_id="corr-1", vlan=None, node_name="edge-1", other_chunks=[],
    )  # fmt: skip
    [record] = TrafficDecoder().segment(seg(encode_hep(packet), sport=50000, dport=9060))
    data = record.to_json()
    assert (data["src"], data["sport"], data["time"]) == ("198.51.100.9", 5062, "2023-11-14T22:15:23.500000Z")
    assert data["hep"] == {
        "version": 3, "proto_type": 1, "capture_id": 7, "correlation_id": "corr-1", "node_name": "edge-1",
        "agent": "198.51.100.7",
    }  # fmt: skip


def test_sip_over_tcp_split_across_segments_and_two_in_one() -> None:
    decoder = TrafficDecoder()
    assert decoder.segment(seg(b"\r\n" + OPTIONS[:30], "tcp")) == []
    first, second = decoder.segment(seg(OPTIONS[30:] + OPTIONS, "tcp", t=2.0))
    assert first.body.call_id == second.body.call_id == "1234" and first.time == 2.0
    assert first.body.anomalies == ()
    assert decoder.segment(seg(b"", "tcp")) == []
    assert len(decoder.streams) == 1


def test_http_and_tls_streams_are_classified_by_their_first_bytes() -> None:
    decoder = TrafficDecoder()
    request = b"POST /activate HTTP/1.1\r\nHost: zzhc.example.test\r\nContent-Length: 4\r\n\r\nIMEI"
    [http] = decoder.segment(seg(request, "tcp", sport=1, dport=8080))
    assert (http.type, http.body.host, http.body.body) == ("http", "zzhc.example.test", b"IMEI")
    hello = (DATA / "appwire" / "tls_openssl_clienthello.bin").read_bytes()
    assert decoder.segment(seg(hello[:20], "tcp", sport=2, dport=443)) == []  # waits for the rest
    [tls] = decoder.segment(seg(hello[20:], "tcp", sport=2, dport=443))
    assert tls.type == "tls" and tls.body.sni
    assert decoder.segment(seg(b"\x17\x03\x03 application data", "tcp", sport=2, dport=443)) == []


def test_unrecognised_streams_become_opaque_and_the_table_is_bounded() -> None:
    decoder = TrafficDecoder(max_streams=2)
    for port in range(3):
        assert decoder.segment(seg(b"SSH-2.0-OpenSSH\r\n", "tcp", sport=port)) == []
    assert len(decoder.streams) == 2
    assert decoder.anomalies["stream-evicted"] == 1
    assert all(state.kind == "opaque" for state in decoder.streams.values())
