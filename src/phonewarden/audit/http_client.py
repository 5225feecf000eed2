"""A minimal HTTP/1.1 client for probing phone web UIs: one request, one bounded response.

The product has no HTTP client dependency; phones need nothing more than this (no keep-alive,
no redirects followed, body capped), and every byte sent is visible here.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

from phonewarden.audit.probe_sip import insecure_tls_context

MAX_BODY = 65536


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]  # lower-case names, last value wins
    body: str


async def request(
    host: str,
    port: int,
    method: str,
    target: str,
    *,
    use_tls: bool,
    timeout: float,
    headers: dict[str, str] | None = None,
    body: str = "",
) -> HttpResponse | None:
    """Send one request; None when the port does not answer HTTP in time."""
    context: ssl.SSLContext | None = insecure_tls_context() if use_tls else None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=context), timeout)
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    host_header = f"[{host}]" if ":" in host else host
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: {host_header}",
        "User-Agent: phonewarden-audit",
        "Connection: close",
        "Accept: */*",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "POST":
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body.encode())}"]
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n" + body).encode())
        await writer.drain()
        raw = await asyncio.wait_for(_read_bounded(reader), timeout)
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    finally:
        writer.close()
    return parse_response(raw)


async def _read_bounded(reader: asyncio.StreamReader) -> bytes:
    data = bytearray()
    while len(data) < MAX_BODY:
        chunk = await reader.read(8192)
        if not chunk:
            break
        data += chunk
    return bytes(data[:MAX_BODY])


def parse_response(raw: bytes) -> HttpResponse | None:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2) if lines else []
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return HttpResponse(int(parts[1]), headers, body.decode("utf-8", "replace"))
