"""SIP probes: OPTIONS over UDP, TCP and TLS, and the opt-in ghost-call INVITE (cancelled at once).

Every probe sends at most two datagrams (one retransmission) or one stream message and waits a
bounded time; responses are parsed with the kernel's tolerant SIP parser.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import warnings
from dataclasses import dataclass

from phonewarden.wire.sip import SipMessage, SipStreamFramer, parse_sip

USER_AGENT = "phonewarden-audit"
MAX_RESPONSE_BYTES = 65536


@dataclass(frozen=True)
class SipAnswer:
    transport: str
    port: int
    status: int
    reason: str
    user_agent: str | None
    server: str | None
    to_tag: str | None
    allow: str | None


def _request(
    method: str,
    host: str,
    port: int,
    transport: str,
    local: tuple[str, int],
    call_id: str,
    branch: str,
    tag: str,
    cseq: int = 1,
    body: str = "",
    to_tag: str | None = None,
) -> bytes:
    via = {"udp": "UDP", "tcp": "TCP", "tls": "TLS"}[transport]
    local_host = f"[{local[0]}]" if ":" in local[0] else local[0]
    target = f"[{host}]" if ":" in host else host
    lines = [
        f"{method} sip:{target}:{port} SIP/2.0",
        f"Via: SIP/2.0/{via} {local_host}:{local[1]};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:audit@{local_host}>;tag={tag}",
        f"To: <sip:{target}:{port}>" + (f";tag={to_tag}" if to_tag else ""),
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:audit@{local_host}:{local[1]}>",
        f"User-Agent: {USER_AGENT}",
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def _answer(message: SipMessage, transport: str, port: int) -> SipAnswer | None:
    status = getattr(message, "status", None)
    if not isinstance(status, int):
        return None
    return SipAnswer(
        transport,
        port,
        status,
        str(getattr(message, "reason", "") or ""),
        message.user_agent,
        message.server,
        message.to_tag,
        message.header("allow"),
    )


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=32)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if not self.queue.full():
            self.queue.put_nowait(data)


async def options_udp(host: str, port: int, timeout: float) -> SipAnswer | None:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(_Datagrams, remote_addr=(host, port))
    try:
        local = transport.get_extra_info("sockname")[:2]
        ids = _ids()
        message = _request("OPTIONS", host, port, "udp", local, *ids)
        return await _udp_exchange(transport, protocol, message, timeout, port, final_only=False)
    finally:
        transport.close()


async def _udp_exchange(
    transport: asyncio.DatagramTransport,
    protocol: _Datagrams,
    message: bytes,
    timeout: float,
    port: int,
    final_only: bool,
) -> SipAnswer | None:
    deadline = asyncio.get_running_loop().time() + timeout
    transport.sendto(message)
    resent = False
    while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
        wait = min(remaining, timeout / 3) if not resent else remaining
        try:
            data = await asyncio.wait_for(protocol.queue.get(), wait)
        except TimeoutError:
            if not resent:  # RFC 3261 retransmission, once: UDP may drop the first datagram
                transport.sendto(message)
                resent = True
            continue
        answer = _answer(parse_sip(data), "udp", port)
        if answer is not None and (answer.status >= 180 or not final_only):
            return answer
    return None


async def options_stream(host: str, port: int, timeout: float, use_tls: bool) -> SipAnswer | None:
    """OPTIONS over TCP or TLS (the certificate is not verified: phones use self-signed ones)."""
    context = insecure_tls_context() if use_tls else None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=context), timeout)
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    transport = "tls" if use_tls else "tcp"
    try:
        local = writer.get_extra_info("sockname")[:2]
        writer.write(_request("OPTIONS", host, port, transport, local, *_ids()))
        await writer.drain()
        framer = SipStreamFramer(max_buffer=MAX_RESPONSE_BYTES)
        deadline = asyncio.get_running_loop().time() + timeout
        while (remaining := deadline - asyncio.get_running_loop().time()) > 0:
            chunk = await asyncio.wait_for(reader.read(4096), remaining)
            if not chunk:
                return None
            for raw in framer.feed(chunk):
                answer = _answer(parse_sip(raw), transport, port)
                if answer is not None:
                    return answer
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    finally:
        writer.close()
    return None


async def ghost_invite(host: str, port: int, timeout: float) -> SipAnswer | None:
    """Unsolicited INVITE over UDP; a ringing phone is CANCELled at once, an answered one gets BYE."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(_Datagrams, remote_addr=(host, port))
    try:
        local = transport.get_extra_info("sockname")[:2]
        call_id, branch, tag = _ids()
        sdp = (
            f"v=0\r\no=audit 1 1 IN IP4 {local[0]}\r\ns=-\r\nc=IN IP4 {local[0]}\r\nt=0 0\r\n"
            "m=audio 9 RTP/AVP 0\r\na=inactive\r\n"
        )
        invite = _request("INVITE", host, port, "udp", local, call_id, branch, tag, body=sdp)
        answer = await _udp_exchange(transport, protocol, invite, timeout, port, final_only=True)
        if answer is not None and answer.status < 200:
            transport.sendto(_request("CANCEL", host, port, "udp", local, call_id, branch, tag))
            await asyncio.sleep(min(0.2, timeout))
        elif answer is not None and answer.status < 300:
            # Answered: ACK and hang up so the phone does not keep a silent call open.
            to_tag = answer.to_tag
            transport.sendto(
                _request("ACK", host, port, "udp", local, call_id, _ids()[1], tag, to_tag=to_tag)
            )
            transport.sendto(
                _request("BYE", host, port, "udp", local, call_id, _ids()[1], tag, 2, to_tag=to_tag)
            )
        elif answer is not None:
            # A final rejection must be ACKed (same branch) or the phone retransmits it.
            transport.sendto(
                _request("ACK", host, port, "udp", local, call_id, branch, tag, to_tag=answer.to_tag)
            )
        return answer
    finally:
        transport.close()


def insecure_tls_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # old phones speak TLS 1.0: the probe reports it rather than refuse it
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def _ids() -> tuple[str, str, str]:
    return f"{secrets.token_hex(8)}@phonewarden", f"z9hG4bK{secrets.token_hex(6)}", secrets.token_hex(4)
