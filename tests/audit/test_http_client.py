from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.audit.http_client import parse_response, request


def test_parse_response_headers_and_body() -> None:
    response = parse_response(b"HTTP/1.1 302 Found\r\nLocation: /x\r\nServer: yealink\r\n\r\nbody")
    assert response is not None and response.status == 302
    assert response.headers == {"location": "/x", "server": "yealink"} and response.body == "body"
    assert parse_response(b"SSH-2.0-OpenSSH_9.2\r\n") is None


def test_one_request_over_a_real_socket() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n") + await reader.readexactly(3))
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<title>Yealink</title>")
        await writer.drain()
        writer.close()

    async def run() -> tuple[int, str] | None:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            response = await request(
                "127.0.0.1", port, "POST", "/login", use_tls=False, timeout=2, body="a=b"
            )
        return (response.status, response.body) if response else None

    assert asyncio.run(run()) == (200, "<title>Yealink</title>")
    assert seen[0].startswith(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n") and seen[0].endswith(b"a=b")


def test_closed_port_is_none() -> None:
    from tests.conftest import free_port

    assert asyncio.run(request("127.0.0.1", free_port(), "GET", "/", use_tls=False, timeout=1)) is None


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_parse_response(data: bytes) -> None:
    response = parse_response(data)
    assert response is None or response.status >= 0
