"""Regenerate the sipvicious_*.sip fixtures: run SIPVicious tools against a loopback UDP responder.

Usage: .venv/bin/python tests/data/sip/capture_sipvicious.py
The responder answers REGISTER for users 100/101 without credentials with a 401 challenge, everything
else with 404, so svwar and svcrack go past their first probe. Only loopback traffic, bounded by timeouts.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent
PORT = 5099
RUNS = {
    "svmap": ["sipvicious_svmap", "-p", str(PORT), "127.0.0.1"],
    "svmap_compact": ["sipvicious_svmap", "-c", "-p", str(PORT), "127.0.0.1"],
    "svwar": ["sipvicious_svwar", "-p", str(PORT), "-e", "100-101", "127.0.0.1"],
    "svcrack": ["sipvicious_svcrack", "-p", str(PORT), "-u", "100", "-r", "1000-1001", "127.0.0.1"],
}
KEEP_PER_RUN = 4


def reply(request: bytes) -> bytes:
    lines = request.split(b"\r\n")
    copied = [line for line in lines if line[:2].lower() in (b"vi", b"v:", b"fr", b"f:", b"to", b"t:",
                                                          b"ca", b"i:", b"cs")]  # fmt: skip
    known_user = b"sip:100@" in request or b"sip:101@" in request  # svwar probes a random one first
    if lines[0].startswith(b"REGISTER") and known_user and b"\r\nAuthorization:" not in request:
        status = [b"SIP/2.0 401 Unauthorized", b'WWW-Authenticate: Digest realm="lab", nonce="abc123"']
    else:
        status = [b"SIP/2.0 404 Not Found"]
    return b"\r\n".join([*status, *copied, b"Content-Length: 0", b"", b""])


def serve(sock: socket.socket, received: list[bytes], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            data, peer = sock.recvfrom(65535)
        except TimeoutError:
            continue
        received.append(data)
        sock.sendto(reply(data), peer)


def main() -> None:
    for name, argv in RUNS.items():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", PORT))
        sock.settimeout(0.2)
        received: list[bytes] = []
        stop = threading.Event()
        thread = threading.Thread(target=serve, args=(sock, received, stop))
        thread.start()
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run([str(BIN / argv[0]), *argv[1:]], timeout=20, capture_output=True, check=False)
        stop.set()
        thread.join()
        sock.close()
        for number, datagram in enumerate(received[:KEEP_PER_RUN]):
            suffix = "sip" if datagram[:1].isalpha() else "bin"  # svmap also sends NUL-byte probes
            (HERE / f"sipvicious_{name}_{number}.{suffix}").write_bytes(datagram)
        print(name, len(received), "datagrams")


if __name__ == "__main__":
    main()
