#!/usr/bin/env python3
"""Tiny authoritative DNS responder for the lab (UDP and TCP on one port).
A query for phone-home.example.test (type A) gets 203.0.113.10; anything
else gets NXDOMAIN. Bounded: exits after SECONDS or MAXQ queries.
usage: dns_responder.py HOST PORT SECONDS [MAXQ]"""
import select
import socket
import struct
import sys
import time

host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
maxq = int(sys.argv[4]) if len(sys.argv) > 4 else 20
ANSWERS = {"phone-home.example.test": "203.0.113.10"}


def answer(q: bytes) -> bytes:
    qid, flags, qd = struct.unpack("!HHH", q[:6])
    i, labels = 12, []
    while q[i]:
        ln = q[i]
        labels.append(q[i + 1:i + 1 + ln].decode("ascii", "replace"))
        i += 1 + ln
    i += 1
    qtype, qclass = struct.unpack("!HH", q[i:i + 4])
    question = q[12:i + 4]
    name = ".".join(labels).lower()
    rd = flags & 0x0100
    ip = ANSWERS.get(name)
    if ip and qtype == 1:
        hdr = struct.pack("!HHHHHH", qid, 0x8400 | rd, 1, 1, 0, 0)
        rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(ip)
        return hdr + question + rr
    rcode = 0 if ip else 3  # NOERROR/NODATA or NXDOMAIN
    return struct.pack("!HHHHHH", qid, 0x8400 | rd | rcode, 1, 0, 0, 0) + question


u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((host, port))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((host, port))
t.listen(4)
print(f"dns_responder: listening on {host}:{port}", flush=True)
end, n = time.time() + secs, 0
while time.time() < end and n < maxq:
    r, _, _ = select.select([u, t], [], [], 0.5)
    if u in r:
        q, addr = u.recvfrom(4096)
        u.sendto(answer(q), addr)
        n += 1
    if t in r:
        c, _ = t.accept()
        c.settimeout(3)
        try:
            ln = struct.unpack("!H", c.recv(2, socket.MSG_WAITALL))[0]
            q = c.recv(ln, socket.MSG_WAITALL)
            a = answer(q)
            c.sendall(struct.pack("!H", len(a)) + a)
            n += 1
        finally:
            c.close()
print(f"dns_responder: answered {n} queries", flush=True)
