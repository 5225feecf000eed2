"""Tiny real servers for the privacy capture generator: `http ADDR PORT` or `dns ADDR PORT NAME=IP...`.

Bound to one loopback address the generator chose; they stop by themselves after --seconds.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = b'{"resultCode":"0","resultDesc":"ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_dns(address: str, port: int, table: dict[str, str]) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, port))
    while True:
        query, peer = sock.recvfrom(2048)
        ident, _flags, _count = struct.unpack("!HHH", query[:6])
        position, labels = 12, []
        while query[position]:
            length = query[position]
            labels.append(query[position + 1 : position + 1 + length].decode())
            position += 1 + length
        question = query[12 : position + 5]
        name = ".".join(labels).lower()
        answer_ip = table.get(name)
        header = struct.pack(
            "!HHHHHH", ident, 0x8180 if answer_ip else 0x8183, 1, 1 if answer_ip else 0, 0, 0
        )
        answer = b""
        if answer_ip:
            answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(answer_ip)
        sock.sendto(header + question + answer, peer)


def main() -> None:
    kind, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seconds = 60.0
    threading.Timer(seconds, lambda: __import__("os")._exit(0)).start()
    if kind == "http":
        ThreadingHTTPServer((address, port), Handler).serve_forever()
    else:
        table = dict(item.split("=", 1) for item in sys.argv[4:])
        serve_dns(address, port, table)


if __name__ == "__main__":
    main()
