"""Syslog RFC 5424 to real loopback sockets: one UDP datagram, or an octet-counted frame over TCP."""

from __future__ import annotations

import json
import socket

from phonewarden.alerts.targets.syslog import SyslogTarget

ALERT = {"type": "alert", "guard": "fraud", "severity": "critical", "account": "acme"}


def test_udp_datagram() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        SyslogTarget("127.0.0.1", sock.getsockname()[1]).send(ALERT)
        line = sock.recv(9000).decode()
    assert line.startswith("<130>1 ")  # local0 (16) * 8 + critical (2)
    header, message = line.split(" - alert - ", 1)
    assert header.split(" ")[3] == "phonewarden" and json.loads(message) == ALERT


def test_tcp_octet_counting() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(5)
        SyslogTarget("127.0.0.1", server.getsockname()[1], "tcp").send({**ALERT, "severity": "medium"})
        connection, _ = server.accept()
        with connection:
            connection.settimeout(5)
            data = b""
            while chunk := connection.recv(9000):
                data += chunk
    length, _, frame = data.partition(b" ")
    assert int(length) == len(frame) and frame.startswith(b"<132>1 ")  # medium: warning (4)
    assert json.loads(frame.split(b" - alert - ", 1)[1]) == {**ALERT, "severity": "medium"}
