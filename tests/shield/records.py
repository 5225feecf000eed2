"""Synthetic SIP records for unit tests, and records decoded from the committed real captures."""

from __future__ import annotations

from functools import cache
from typing import Any

from phonewarden.capture.replay import CaptureReplay
from phonewarden.core.records import Segment
from phonewarden.wire.sip import parse_sip
from phonewarden.wire.traffic import NetworkRecord, TrafficDecoder
from tests.conftest import DATA

SERVER = "203.0.113.5"


def request(
    src: str, t: float, method: str = "REGISTER", user: str = "alice", *, call_id: str = "c1", cseq: int = 1,
    ua: str = "Yealink SIP-T46S 66.86.0.15", auth: bool = False, ruri_user: str | None = None,
    branch: str = "z9hG4bK776asdhds", from_tag: str = "a73kszlfl", display: str = "", body: str = "",
) -> NetworkRecord[Any]:  # fmt: skip
    ruri = f"sip:{ruri_user}@pbx.example.test" if ruri_user else "sip:pbx.example.test"
    lines = [
        f"{method} {ruri} SIP/2.0",
        f"Via: SIP/2.0/UDP {src}:5060;branch={branch};rport",
        f'From: "{display}" <sip:{user}@pbx.example.test>;tag={from_tag}' if display
        else f"From: <sip:{user}@pbx.example.test>;tag={from_tag}",
        f"To: <sip:{ruri_user or user}@pbx.example.test>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:{user}@{src}:5060>",
        f"User-Agent: {ua}",
        "Max-Forwards: 70",
    ]  # fmt: skip
    if auth:
        lines.append(
            f'Authorization: Digest username="{user}", realm="pbx.example.test", nonce="n1", '
            f'uri="sip:pbx.example.test", response="00112233445566778899aabbccddeeff"'
        )
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    raw = ("\r\n".join(lines) + "\r\n\r\n" + body).encode()
    return NetworkRecord("sip", Segment(t, "udp", src, 5060, SERVER, 5060, raw), parse_sip(raw))


def response(
    to: str, t: float, status: int, method: str = "REGISTER", *, call_id: str = "c1", cseq: int = 1,
    expires: int | None = None, stale: bool = False,
) -> NetworkRecord[Any]:  # fmt: skip
    reasons = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 407: "Proxy Auth"}
    lines = [
        f"SIP/2.0 {status} {reasons.get(status, 'X')}",
        f"Via: SIP/2.0/UDP {to}:5060;branch=z9hG4bK776asdhds;rport",
        "From: <sip:alice@pbx.example.test>;tag=a73kszlfl",
        "To: <sip:alice@pbx.example.test>;tag=srv1",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
    ]
    if status == 401:
        lines.append(
            f'WWW-Authenticate: Digest realm="pbx.example.test", nonce="n2"{", stale=true" if stale else ""}'
        )
    if expires is not None:
        lines.append(f"Contact: <sip:alice@{to}:5060>;expires={expires}")
    lines.append("Content-Length: 0")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return NetworkRecord("sip", Segment(t, "udp", SERVER, 5060, to, 5060, raw), parse_sip(raw))


@cache
def capture(name: str) -> tuple[NetworkRecord[Any], ...]:
    decoder = TrafficDecoder()
    path = DATA / "captures" / name
    return tuple(
        r for frame in CaptureReplay(path, progress=False) for r in decoder.feed(frame) if r.type == "sip"
    )
