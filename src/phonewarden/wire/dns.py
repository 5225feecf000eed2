"""DNS message decoder (RFC 1035) for UDP payloads and TCP streams.

The privacy guard wants which names a device looks up and what they resolve to, so only the header,
questions and answer section are decoded; authority and additional records are only counted.
Hostile input never raises: broken parts end decoding and are named in `anomalies`.
"""

from __future__ import annotations

import collections
import ipaddress
import struct
from dataclasses import dataclass
from typing import Any

HEADER_LEN = 12
MAX_NAME_LEN = 255  # RFC 1035 3.1, counted in wire octets
MAX_LABEL_LEN = 63
MAX_POINTER_HOPS = 32  # far more than any sane name needs; stops loops and pointer chains

TYPE_NAMES: dict[int, str] = {
    1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT", 28: "AAAA",
    33: "SRV", 35: "NAPTR", 39: "DNAME", 41: "OPT", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY",
    50: "NSEC3", 52: "TLSA", 64: "SVCB", 65: "HTTPS", 99: "SPF", 255: "ANY", 257: "CAA",
}  # fmt: skip
CLASS_NAMES: dict[int, str] = {1: "IN", 3: "CH", 4: "HS", 254: "NONE", 255: "ANY"}
_NAME_TARGET_TYPES = frozenset({2, 5, 12, 39})  # NS, CNAME, PTR, DNAME: rdata is one domain name


def type_name(rtype: int) -> str:
    """Mnemonic for a record type, RFC 3597 "TYPEnnn" when unknown."""
    return TYPE_NAMES.get(rtype, f"TYPE{rtype}")


@dataclass(slots=True, frozen=True)
class DnsQuestion:
    name: str
    qtype: int
    qclass: int


@dataclass(slots=True, frozen=True)
class DnsAnswer:
    name: str
    rtype: int
    ttl: int
    data: str  # address, target name, "pref name", "priority target", joined TXT, or hex


@dataclass(slots=True, frozen=True)
class DnsMessage:
    id: int
    is_response: bool
    opcode: int
    rcode: int
    truncated: bool
    questions: tuple[DnsQuestion, ...]
    answers: tuple[DnsAnswer, ...]
    authority_count: int
    additional_count: int
    anomalies: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        first = self.questions[0] if self.questions else None
        return {
            "id": self.id,
            "is_response": self.is_response,
            "opcode": self.opcode,
            "rcode": self.rcode,
            "truncated": self.truncated,
            "qname": first.name if first else None,
            "qtype": type_name(first.qtype) if first else None,
            "questions": [
                {"name": q.name, "type": type_name(q.qtype), "class": CLASS_NAMES.get(q.qclass, q.qclass)}
                for q in self.questions
            ],
            "answers": [
                {"name": a.name, "type": type_name(a.rtype), "ttl": a.ttl, "data": a.data}
                for a in self.answers
            ],
            "authority_count": self.authority_count,
            "additional_count": self.additional_count,
            "anomalies": list(self.anomalies),
        }


def _label_text(label: bytes) -> str:
    # Presentation format (RFC 4343): escape dots and non-printables so names stay unambiguous.
    out = []
    for byte in label:
        if byte in (0x2E, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x21 <= byte <= 0x7E:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


def read_name(msg: bytes, offset: int, anomalies: list[str]) -> tuple[str, int] | None:
    """Decode the possibly compressed name at `offset`; return it and the offset just after it.

    None when the name runs off the end or is malformed (the reason is appended to `anomalies`).
    Pointers may point anywhere (a forward pointer is flagged, not refused) but hops are bounded.
    """
    labels: list[str] = []
    wire_len = 1  # the terminating root label
    end: int | None = None  # where decoding resumes in the enclosing record
    pos, hops = offset, 0
    while True:
        if pos >= len(msg):
            anomalies.append("truncated-name")
            return None
        length = msg[pos]
        if length >= 0xC0:
            if pos + 1 >= len(msg):
                anomalies.append("truncated-name")
                return None
            target = ((length & 0x3F) << 8) | msg[pos + 1]
            if end is None:
                end = pos + 2
            hops += 1
            if hops > MAX_POINTER_HOPS:
                anomalies.append("pointer-loop")
                return None
            if target >= pos:
                anomalies.append("forward-pointer")
            pos = target
            continue
        if length > MAX_LABEL_LEN:  # 0x40 and 0x80 label types are obsolete or reserved
            anomalies.append("label-too-long")
            return None
        if length == 0:
            break
        wire_len += length + 1
        if wire_len > MAX_NAME_LEN:
            anomalies.append("name-too-long")
            return None
        if pos + 1 + length > len(msg):
            anomalies.append("truncated-name")
            return None
        labels.append(_label_text(msg[pos + 1 : pos + 1 + length]))
        pos += 1 + length
    return (".".join(labels) if labels else "."), (end if end is not None else pos + 1)


def _rdata_text(msg: bytes, rtype: int, start: int, rdlen: int, anomalies: list[str]) -> str:
    rdata = msg[start : start + rdlen]
    if rtype == 1 and rdlen == 4:
        return str(ipaddress.IPv4Address(rdata))
    if rtype == 28 and rdlen == 16:
        return str(ipaddress.IPv6Address(rdata))
    if rtype in _NAME_TARGET_TYPES:
        return _name_in_rdata(msg, start, start + rdlen, anomalies) or rdata.hex()
    if rtype in (15, 64, 65) and rdlen >= 3:  # MX preference, SVCB/HTTPS priority, then a name
        target = _name_in_rdata(msg, start + 2, start + rdlen, anomalies)
        if target is not None:
            return f"{int.from_bytes(rdata[:2], 'big')} {target}"
    if rtype == 16:
        return _txt_text(rdata, anomalies)
    if rtype in (1, 28):
        anomalies.append("bad-rdata-length")
    return rdata.hex()


def _name_in_rdata(msg: bytes, start: int, limit: int, anomalies: list[str]) -> str | None:
    decoded = read_name(msg[:limit], start, anomalies)  # slicing keeps the name inside its rdata
    return decoded[0] if decoded else None


def _txt_text(rdata: bytes, anomalies: list[str]) -> str:
    parts, pos = [], 0
    while pos < len(rdata):
        length = rdata[pos]
        if pos + 1 + length > len(rdata):
            anomalies.append("truncated-txt")
            break
        parts.append(rdata[pos + 1 : pos + 1 + length].decode("utf-8", "backslashreplace"))
        pos += 1 + length
    return "".join(parts)


def parse_dns(payload: bytes) -> DnsMessage | None:
    """Decode one DNS message; None only when it is shorter than the 12-byte header."""
    if len(payload) < HEADER_LEN:
        return None
    msg_id, flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!6H", payload)
    anomalies: list[str] = []
    questions: list[DnsQuestion] = []
    answers: list[DnsAnswer] = []
    pos: int | None = HEADER_LEN
    for _ in range(qdcount):
        decoded = read_name(payload, pos, anomalies) if pos is not None else None
        if decoded is None or decoded[1] + 4 > len(payload):
            pos = None
            break
        name, pos = decoded
        qtype, qclass = struct.unpack_from("!HH", payload, pos)
        questions.append(DnsQuestion(name, qtype, qclass))
        pos += 4
    for _ in range(ancount if pos is not None else 0):
        decoded = read_name(payload, pos, anomalies) if pos is not None else None
        if decoded is None or decoded[1] + 10 > len(payload):
            pos = None
            break
        name, pos = decoded
        rtype, _rclass, ttl, rdlen = struct.unpack_from("!HHIH", payload, pos)
        pos += 10
        if pos + rdlen > len(payload):
            pos = None
            break
        answers.append(DnsAnswer(name, rtype, ttl, _rdata_text(payload, rtype, pos, rdlen, anomalies)))
        pos += rdlen
    if pos is None:
        anomalies.append("truncated-record")
    return DnsMessage(
        id=msg_id,
        is_response=bool(flags & 0x8000),
        opcode=(flags >> 11) & 0xF,
        rcode=flags & 0xF,
        truncated=bool(flags & 0x0200),
        questions=tuple(questions),
        answers=tuple(answers),
        authority_count=nscount,
        additional_count=arcount,
        anomalies=tuple(dict.fromkeys(anomalies)),  # dedupe, keep first-seen order
    )


class DnsTcpFramer:
    """Splits one direction of a DNS-over-TCP stream (RFC 7766 2-byte length prefix) into messages.

    The buffer is bounded by construction: a frame is at most 2 + 65535 bytes and is decoded as soon
    as it is complete, so at most one partial frame is held between calls.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.anomalies: collections.Counter[str] = collections.Counter()

    def feed(self, data: bytes) -> list[DnsMessage]:
        self._buf += data
        messages: list[DnsMessage] = []
        pos = 0
        while len(self._buf) - pos >= 2:
            length = int.from_bytes(self._buf[pos : pos + 2], "big")
            if len(self._buf) - pos - 2 < length:
                break
            frame = bytes(self._buf[pos + 2 : pos + 2 + length])
            pos += 2 + length
            message = parse_dns(frame)
            if message is None:
                self.anomalies["short-message"] += 1
                continue
            self.anomalies.update(message.anomalies)
            messages.append(message)
        del self._buf[:pos]
        return messages

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)
