"""Regenerate the real-client inputs in this directory: `python tests/data/appwire/regenerate.py`.

Runs loopback servers that record the first bytes real tools send: dig (DNS over UDP and TCP; the
answers come from a hand-built responder here and dig's own decoding of them is saved as
`*.dig.txt`), openssl s_client and curl (TLS ClientHello), curl (HTTP POST, plain and chunked) and
Python's http.server (an HTTP response). Needs dig (bind9-dnsutils), openssl and curl on PATH.
"""

from __future__ import annotations

import base64
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
LEAK_JSON = (
    b'{"REGVER":"1","MEID":"A1000012345678","MODEL":"PW-7","IMEI1":"863012345678903",'
    b'"SIM1ICCID":"89860012345678901234","SIM1LTEIMSI":"460011234567890",'
    b'"MACID":"4C:BC:98:12:34:56","SIM1CELLID":"219769344"}'
)


def _name(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".") if p) + b"\0"


def _rr(owner: bytes, rtype: int, ttl: int, rdata: bytes) -> bytes:
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def dns_answer(query: bytes) -> bytes:
    """Answer any query for NAME with a fixed record set using compression pointers to the qname."""
    qid = query[:2]
    end = 12
    while query[end]:
        end += 1 + query[end]
    question = query[12 : end + 5]
    qname = b"\xc0\x0c"  # pointer to the question name at offset 12
    answers = [
        _rr(qname, 5, 300, b"\x04edge" + qname),  # CNAME edge.<qname>
        _rr(qname, 1, 60, socket.inet_aton("192.0.2.10")),
        _rr(qname, 28, 60, socket.inet_pton(socket.AF_INET6, "2001:db8::10")),
        _rr(qname, 15, 3600, b"\x00\x0a\x02mx" + qname),
        _rr(qname, 16, 120, b"\x0bv=spf1 -all\x05 tail"),
        _rr(qname, 65, 300, b"\x00\x01\x00" + b"\x00\x01\x00\x03\x02h2"),  # HTTPS 1 . alpn=h2
        _rr(qname, 12, 86400, _name("ptr.example.test")),
    ]
    header = qid + b"\x81\x80" + struct.pack("!HHHH", 1, len(answers), 0, 0)
    return header + question + b"".join(answers)


def capture_dns() -> None:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((HOST, 0))
    port = udp.getsockname()[1]
    tcp = socket.create_server((HOST, port))
    queries: list[bytes] = []

    def serve_udp() -> None:
        for _ in range(3):
            data, peer = udp.recvfrom(4096)
            queries.append(data)
            udp.sendto(dns_answer(data), peer)

    def serve_tcp() -> None:
        conn, _ = tcp.accept()
        with conn:
            raw = conn.recv(4096)
            (HERE / "dns_dig_tcp_query.bin").write_bytes(raw)
            reply = dns_answer(raw[2:])
            conn.sendall(struct.pack("!H", len(reply)) + reply)

    threads = [threading.Thread(target=serve_udp), threading.Thread(target=serve_tcp)]
    for thread in threads:
        thread.start()
    for qtype, name in (("A", "phone.example.test"), ("HTTPS", "zzhc.example.test"), ("AAAA", "x.test")):
        out = subprocess.run(
            ["dig", f"@{HOST}", "-p", str(port), "+noall", "+answer", "+tries=1", qtype, name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        stem = f"dns_dig_{qtype.lower()}"
        (HERE / f"{stem}.dig.txt").write_text(out)
        (HERE / f"{stem}_query.bin").write_bytes(queries[-1])
        (HERE / f"{stem}_response.bin").write_bytes(dns_answer(queries[-1]))
    subprocess.run(
        ["dig", f"@{HOST}", "-p", str(port), "+tcp", "+tries=1", "A", "tcp.example.test"],
        capture_output=True,
        check=True,
    )
    for thread in threads:
        thread.join(5)
    udp.close()
    tcp.close()


def _record_first_bytes(command: list[str], port_holder: list[int], reply: bytes = b"") -> bytes:
    """Accept one connection, keep what arrives until 1 s of silence, then send `reply` and close."""
    server = socket.create_server((HOST, 0))
    port_holder.append(server.getsockname()[1])
    received = bytearray()
    continued = False

    def serve() -> None:
        nonlocal continued
        conn, _ = server.accept()
        conn.settimeout(1.0)
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    if b"100-continue" in received.lower() and not continued:
                        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                        continued = True  # then keep reading the body
                        continue
                    break
                if not chunk:
                    break
                received.extend(chunk)
            if reply:
                conn.sendall(reply)

    thread = threading.Thread(target=serve)
    thread.start()
    subprocess.run(
        [part.replace("PORT", str(port_holder[-1])) for part in command],
        capture_output=True,
        timeout=30,
        input=b"",
    )
    thread.join(10)
    server.close()
    return bytes(received)


def capture_tls() -> None:
    ports: list[int] = []
    hello = _record_first_bytes(
        [
            "openssl",
            "s_client",
            "-connect",
            f"{HOST}:PORT",
            "-servername",
            "phone.example.test",
            "-alpn",
            "h2,http/1.1",
        ],
        ports,
    )
    (HERE / "tls_openssl_clienthello.bin").write_bytes(hello)
    hello = _record_first_bytes(
        [
            "curl",
            "-sk",
            "--max-time",
            "3",
            "--resolve",
            f"phone.example.test:PORT:{HOST}",
            "https://phone.example.test:PORT/",
        ],
        ports,
    )
    (HERE / "tls_curl_clienthello.bin").write_bytes(hello)
    hello = _record_first_bytes(
        [
            "openssl",
            "s_client",
            "-connect",
            f"{HOST}:PORT",
            "-servername",
            "legacy.example.test",
            "-tls1_2",
            "-no_ticket",
        ],
        ports,
    )
    (HERE / "tls_openssl_tls12_clienthello.bin").write_bytes(hello)


def capture_http() -> None:
    ports: list[int] = []
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    body = HERE / "http_leak_body.txt"

    body.write_bytes(base64.encodebytes(LEAK_JSON))  # base64 with a newline every 76 chars, as ZZHC
    request = _record_first_bytes(
        [
            "curl",
            "-s",
            "--max-time",
            "5",
            "-H",
            "Content-Type: application/encrypted-json",
            "--data-binary",
            f"@{body}",
            "http://zzhc.example.test:PORT/",
            "--resolve",
            f"zzhc.example.test:PORT:{HOST}",
        ],
        ports,
        ok,
    )
    (HERE / "http_curl_post.bin").write_bytes(request)
    request = _record_first_bytes(
        [
            "curl",
            "-s",
            "--max-time",
            "5",
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            f"@{body}",
            f"http://{HOST}:PORT/upload?imei=863012345678903",
        ],
        ports,
        ok,
    )
    (HERE / "http_curl_chunked.bin").write_bytes(request)


def capture_http_response() -> None:
    """What Python's http.server answers to a GET and a HEAD on one keep-alive connection."""
    root = HERE / "httproot"
    root.mkdir(exist_ok=True)
    (root / "index.txt").write_bytes(b"hello from http.server\n")
    server = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            HOST,
            "--protocol",
            "HTTP/1.1",
            "--directory",
            str(root),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N ..."
        port = int(banner.split(" port ")[1].split()[0])
        with socket.create_connection((HOST, port)) as conn:
            conn.sendall(
                b"GET /index.txt HTTP/1.1\r\nHost: x\r\n\r\nHEAD /index.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            conn.settimeout(5)
            data = bytearray()
            while chunk := conn.recv(65536):
                data += chunk
        (HERE / "http_server_responses.bin").write_bytes(bytes(data))
    finally:
        server.terminate()
        server.wait(5)
        for path in root.iterdir():
            path.unlink()
        root.rmdir()


if __name__ == "__main__":
    capture_dns()
    capture_tls()
    capture_http()
    capture_http_response()
    for path in sorted(HERE.iterdir()):
        print(f"{path.name}: {path.stat().st_size} bytes")
