from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.wire.dns import DnsTcpFramer, parse_dns, read_name, type_name
from tests.wire.appwire import DATA, load_pcapfile


def encode_name(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".") if p) + b"\0"


def header(
    qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0, flags: int = 0x0100, msg_id: int = 0x1234
) -> bytes:
    return struct.pack("!6H", msg_id, flags, qd, an, ns, ar)


def rr(owner: bytes, rtype: int, rdata: bytes, ttl: int = 30) -> bytes:
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def response(*answers: bytes, name: str = "a.example", qtype: int = 1) -> bytes:
    question = encode_name(name) + struct.pack("!HH", qtype, 1)
    return header(an=len(answers), flags=0x8180) + question + b"".join(answers)


QNAME_PTR = b"\xc0\x0c"


def test_query_fields() -> None:
    msg = parse_dns(header(ar=1, flags=0x0100) + encode_name("Phone.Example.test") + b"\x00\x41\x00\x01")
    assert msg is not None
    assert (msg.id, msg.is_response, msg.opcode, msg.rcode, msg.truncated) == (0x1234, False, 0, 0, False)
    assert msg.questions[0].name == "Phone.Example.test"
    assert msg.to_json()["qtype"] == "HTTPS"
    assert msg.additional_count == 1
    assert msg.anomalies == ()


def test_header_flags() -> None:
    msg = parse_dns(header(qd=0, ns=2, flags=0x8000 | (4 << 11) | 0x0200 | 3))
    assert msg is not None
    assert (msg.is_response, msg.opcode, msg.truncated, msg.rcode, msg.authority_count) == (
        True,
        4,
        True,
        3,
        2,
    )
    assert msg.to_json()["qname"] is None


def test_answer_rdata_rendering() -> None:
    msg = parse_dns(
        response(
            rr(QNAME_PTR, 1, bytes([192, 0, 2, 1])),
            rr(QNAME_PTR, 28, bytes.fromhex("20010db8000000000000000000000001")),
            rr(QNAME_PTR, 5, b"\x03cdn" + QNAME_PTR),
            rr(QNAME_PTR, 15, b"\x00\x05" + encode_name("mail.example")),
            rr(QNAME_PTR, 16, b"\x03abc\x00\x02de"),
            rr(QNAME_PTR, 65, b"\x00\x01" + encode_name("svc.example") + b"\x00\x01\x00\x03\x02h3"),
            rr(QNAME_PTR, 64, b"\x00\x00\x00"),
            rr(QNAME_PTR, 12, encode_name("ptr.example")),
            rr(QNAME_PTR, 99, b"\xde\xad"),
            rr(QNAME_PTR, 1234, b"\x01\x02"),
        )
    )
    assert msg is not None
    data = [(type_name(a.rtype), a.data) for a in msg.answers]
    assert data == [
        ("A", "192.0.2.1"),
        ("AAAA", "2001:db8::1"),
        ("CNAME", "cdn.a.example"),
        ("MX", "5 mail.example"),
        ("TXT", "abcde"),
        ("HTTPS", "1 svc.example"),
        ("SVCB", "0 ."),
        ("PTR", "ptr.example"),
        ("SPF", "dead"),
        ("TYPE1234", "0102"),
    ]
    assert msg.answers[0].ttl == 30 and msg.answers[0].name == "a.example"
    assert msg.anomalies == ()
    assert msg.to_json()["answers"][1] == {
        "name": "a.example",
        "type": "AAAA",
        "ttl": 30,
        "data": "2001:db8::1",
    }


def test_bad_address_length_is_hex_and_flagged() -> None:
    msg = parse_dns(response(rr(QNAME_PTR, 1, b"\x01\x02\x03")))
    assert msg is not None
    assert msg.answers[0].data == "010203"
    assert msg.anomalies == ("bad-rdata-length",)


def test_label_escaping() -> None:
    msg = parse_dns(header() + b"\x03a.b\x02\x00z\x00" + b"\x00\x01\x00\x01")
    assert msg is not None
    assert msg.questions[0].name == "a\\.b.\\000z"


def test_pointer_loop_is_bounded() -> None:
    msg = parse_dns(header() + b"\xc0\x0c" + b"\x00\x01\x00\x01")  # name points at itself
    assert msg is not None
    assert "pointer-loop" in msg.anomalies
    assert "truncated-record" in msg.anomalies
    assert msg.questions == ()


def test_forward_pointer_is_followed_and_flagged() -> None:
    payload = header() + b"\xc0\x12" + b"\x00\x01\x00\x01" + encode_name("later.example")
    msg = parse_dns(payload)
    assert msg is not None
    assert msg.questions[0].name == "later.example"
    assert msg.anomalies == ("forward-pointer",)


def test_label_type_above_63_is_rejected() -> None:
    msg = parse_dns(header() + b"\x40" + b"x" * 64 + b"\x00\x00\x01\x00\x01")
    assert msg is not None
    assert "label-too-long" in msg.anomalies


def test_name_over_255_octets() -> None:
    long_name = ".".join(["x" * 63] * 4)  # 4 * 64 + 1 = 257 octets on the wire
    msg = parse_dns(header() + encode_name(long_name) + b"\x00\x01\x00\x01")
    assert msg is not None
    assert "name-too-long" in msg.anomalies
    ok = ".".join(["x" * 63] * 3 + ["x" * 61])  # exactly 255 octets
    assert parse_dns(header() + encode_name(ok) + b"\x00\x01\x00\x01") is not None
    assert parse_dns(header() + encode_name(ok) + b"\x00\x01\x00\x01").anomalies == ()  # type: ignore[union-attr]


def test_truncated_record_keeps_what_was_decoded() -> None:
    full = response(rr(QNAME_PTR, 1, bytes(4)), rr(QNAME_PTR, 1, bytes([10, 0, 0, 1])))
    msg = parse_dns(full[:-2])
    assert msg is not None
    assert len(msg.answers) == 1
    assert msg.anomalies == ("truncated-record",)


def test_rdata_name_may_not_escape_its_rdata() -> None:
    # CNAME rdlength 2 but the name inside needs 5 bytes: must not borrow the next record's bytes
    msg = parse_dns(response(rr(QNAME_PTR, 5, b"\x03ab"), rr(QNAME_PTR, 1, bytes(4))))
    assert msg is not None
    assert msg.answers[0].data == "036162"
    assert "truncated-name" in msg.anomalies
    assert msg.answers[1].data == "0.0.0.0"


def test_short_payload_is_not_dns() -> None:
    assert parse_dns(b"\x00" * 11) is None
    assert read_name(b"", 0, []) is None


def test_root_name() -> None:
    msg = parse_dns(header() + b"\x00\x00\x02\x00\x01")
    assert msg is not None
    assert msg.questions[0].name == "." and type_name(msg.questions[0].qtype) == "NS"


# Real dig traffic (tests/data/appwire/regenerate.py): dig's query, and our responder's answer as dig
# itself decoded it.


def dig_answers(text: str) -> list[tuple[str, str, int, str]]:
    rows = []
    for line in text.splitlines():
        name, ttl, _cls, rtype, data = line.split(None, 4)
        if rtype == "TXT":
            data = "".join(part.strip('"') for part in data.split('" "'))
        elif rtype == "HTTPS":
            data = " ".join(data.split()[:2])  # we render priority and target only
        rows.append((name.rstrip("."), rtype, int(ttl), data.replace(". ", " ").rstrip(".") or "."))
    return rows


@pytest.mark.parametrize(("stem", "qname", "qtype"), [
    ("dns_dig_a", "phone.example.test", "A"),
    ("dns_dig_https", "zzhc.example.test", "HTTPS"),
    ("dns_dig_aaaa", "x.test", "AAAA"),
])  # fmt: skip
def test_dig_query_and_answer(stem: str, qname: str, qtype: str) -> None:
    query = parse_dns((DATA / f"{stem}_query.bin").read_bytes())
    assert query is not None and not query.is_response
    assert (query.to_json()["qname"], query.to_json()["qtype"]) == (qname, qtype)
    assert query.additional_count == 1  # dig sends an EDNS OPT record
    assert query.anomalies == ()
    answer = parse_dns((DATA / f"{stem}_response.bin").read_bytes())
    assert answer is not None and answer.is_response and answer.id == query.id
    ours = [(a.name, type_name(a.rtype), a.ttl, a.data) for a in answer.answers]
    theirs = dig_answers((DATA / f"{stem}.dig.txt").read_text())
    assert ours == [(n, t, ttl, "1 ." if t == "HTTPS" else d) for n, t, ttl, d in theirs]
    assert len(ours) == 7


def test_tcp_framer_on_dig_tcp_query_byte_by_byte() -> None:
    raw = (DATA / "dns_dig_tcp_query.bin").read_bytes()
    framer = DnsTcpFramer()
    messages = []
    for index in range(len(raw)):
        messages += framer.feed(raw[index : index + 1])
        assert len(messages) == (1 if index == len(raw) - 1 else 0)
    assert messages[0].questions[0].name == "tcp.example.test"
    assert framer.pending == 0


def test_tcp_framer_several_frames_and_short_frames() -> None:
    a = header() + encode_name("one.example") + b"\x00\x01\x00\x01"
    b = header() + encode_name("two.example") + b"\x00\x1c\x00\x01"
    stream = struct.pack("!H", len(a)) + a + b"\x00\x03abc" + struct.pack("!H", len(b)) + b + b"\x00\x40xy"
    framer = DnsTcpFramer()
    names = [m.questions[0].name for m in framer.feed(stream)]
    assert names == ["one.example", "two.example"]
    assert framer.anomalies == {"short-message": 1}
    assert framer.pending == 4


def test_tcp_framer_counts_message_anomalies() -> None:
    bad = header() + b"\xc0\x0c\x00\x01\x00\x01"
    framer = DnsTcpFramer()
    framer.feed(struct.pack("!H", len(bad)) + bad)
    assert framer.anomalies["pointer-loop"] == 1


@pytest.mark.peer
def test_tshark_agrees_on_dig_answer(tmp_path: Path) -> None:
    tshark = shutil.which("tshark")
    assert tshark, "tshark is required for peer tests"
    pcap = load_pcapfile()
    query = (DATA / "dns_dig_a_query.bin").read_bytes()
    reply = (DATA / "dns_dig_a_response.bin").read_bytes()
    path = tmp_path / "dns.pcap"
    pcap.write_pcap(path, [
        pcap.ipv4_frame("198.51.100.2", 40000, "203.0.113.1", 53, query),
        pcap.ipv4_frame("203.0.113.1", 53, "198.51.100.2", 40000, reply),
    ])  # fmt: skip
    fields = ["dns.qry.name", "dns.a", "dns.aaaa", "dns.cname", "dns.mx.mail_exchange", "dns.ptr.domain_name"]
    result = subprocess.run(
        [tshark, "-r", str(path), "-T", "fields", "-E", "separator=|", *(f"-e{f}" for f in fields)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = [line.split("|") for line in result.stdout.splitlines()]
    msg = parse_dns(reply)
    assert msg is not None
    by_type = {type_name(a.rtype): a.data for a in msg.answers}
    assert rows[0][0] == parse_dns(query).questions[0].name  # type: ignore[union-attr]
    assert rows[1] == [
        msg.questions[0].name, by_type["A"], by_type["AAAA"], by_type["CNAME"],
        by_type["MX"].split()[1], by_type["PTR"],
    ]  # fmt: skip


# Fuzzing: no input may raise.

VALID = [
    (DATA / "dns_dig_a_response.bin").read_bytes(),
    (DATA / "dns_dig_https_query.bin").read_bytes(),
    response(rr(QNAME_PTR, 65, b"\x00\x01" + QNAME_PTR), rr(QNAME_PTR, 16, b"\x02hi")),
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 8))):
        pos = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["set", "insert", "delete", "pointer"]))
        if action == "set":
            data[pos] = draw(st.integers(0, 255))
        elif action == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif action == "delete" and len(data) > 1:
            del data[pos]
        else:
            data[pos : pos + 2] = bytes([0xC0 | draw(st.integers(0, 0x3F)), draw(st.integers(0, 255))])
    return bytes(data[: draw(st.integers(0, len(data)))])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_random_bytes(payload: bytes) -> None:
    msg = parse_dns(payload)
    assert msg is None or isinstance(msg.to_json(), dict)


@settings(max_examples=300, deadline=None)
@given(mutated())
def test_fuzz_mutated_messages(payload: bytes) -> None:
    msg = parse_dns(payload)
    if msg is not None:
        msg.to_json()
        assert all(len(q.name) <= 255 * 4 for q in msg.questions)  # escapes at most quadruple a byte


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=12))
def test_fuzz_tcp_framer_chunks(chunks: list[bytes]) -> None:
    framer = DnsTcpFramer()
    for chunk in chunks:
        framer.feed(chunk)
    assert framer.pending <= 2 + 0xFFFF


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(VALID), min_size=1, max_size=4), st.integers(1, 50))
def test_fuzz_tcp_framer_split_anywhere(messages: list[bytes], step: int) -> None:
    stream = b"".join(struct.pack("!H", len(m)) + m for m in messages)
    framer = DnsTcpFramer()
    out = []
    for pos in range(0, len(stream), step):
        out += framer.feed(stream[pos : pos + step])
    assert [m.id for m in out] == [parse_dns(m).id for m in messages]  # type: ignore[union-attr]
    assert framer.pending == 0
