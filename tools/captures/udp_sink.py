#!/usr/bin/env python3
"""Bounded UDP sink (stands in for a HEP collector): binds HOST:PORT, reads
datagrams until SECONDS elapse, prints how many it got.
usage: udp_sink.py HOST PORT SECONDS"""
import socket
import sys
import time

host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((host, port))
s.settimeout(0.5)
end = time.time() + secs
n = 0
while time.time() < end:
    try:
        data, _ = s.recvfrom(65535)
    except socket.timeout:
        continue
    if data[:4] == b"HEP3":
        n += 1
print(f"udp_sink: {n} HEP3 packets", flush=True)
