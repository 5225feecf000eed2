#!/usr/bin/env python3
"""Send SIP OPTIONS over one TCP connection so that the capture shows
(a) two complete SIP messages in one TCP segment and (b) one SIP message
split over two TCP segments. Bounded: 3 requests, 5 s socket timeout.

usage: tcp_pipeline.py HOST PORT
"""
import socket
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])


def options(n: int, lport: int) -> bytes:
    return (
        f"OPTIONS sip:pbx.example.test SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP 127.0.0.1:{lport};branch=z9hG4bK-pwpipe-{n}\r\n"
        f"Max-Forwards: 70\r\n"
        f"From: <sip:alice@pbx.example.test>;tag=pwpipe{n}\r\n"
        f"To: <sip:pbx.example.test>\r\n"
        f"Call-ID: pipeline-{n}@127.0.0.1\r\n"
        f"CSeq: {n} OPTIONS\r\n"
        f"User-Agent: phonewarden-lab-pipeline/1.0 (python)\r\n"
        f"Content-Length: 0\r\n\r\n"
    ).encode()


s = socket.create_connection((host, port), timeout=5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
lport = s.getsockname()[1]
# (a) two requests in a single write -> one segment with two SIP messages
s.sendall(options(1, lport) + options(2, lport))
time.sleep(0.3)
# (b) one request split across two writes with a pause in between
m = options(3, lport)
s.sendall(m[:60])
time.sleep(0.3)
s.sendall(m[60:])
buf = b""
deadline = time.time() + 5
while buf.count(b"SIP/2.0 200") < 3 and time.time() < deadline:
    try:
        chunk = s.recv(65535)
    except socket.timeout:
        break
    if not chunk:
        break
    buf += chunk
s.close()
n = buf.count(b"SIP/2.0 200")
print(f"tcp_pipeline: {n} responses")
sys.exit(0 if n == 3 else 1)
