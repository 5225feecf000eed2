"""Zeek conn.log and ssl.log as a source of flows and TLS names, in either of Zeek's two writer formats.

A network that already runs Zeek has each connection's endpoints and byte counts (conn.log) and the TLS
server name each client asked for (ssl.log). `analyze --zeek-conn FILE --zeek-ssl FILE` turns them into
the same destination records a capture gives: conn.log flows are counted per device, an ssl.log
`server_name` names the connection with the same `uid` (else any connection from that client to that
address). Zeek writes tab-separated logs with `#fields` headers, or JSON Lines (`LogAscii::use_json`).

conn.log `orig_bytes`/`resp_bytes` are payload bytes, as the monitor counts them; its packet counts
include handshakes and ACKs, so packets are left at zero. Field names: Zeek's documentation of the
Conn::Info and SSL::Info records.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from phonewarden.privacy.dnslogs import json_rows

CONN_FIELDS = ("ts", "id.orig_h", "id.resp_h", "id.resp_p", "proto")
SSL_FIELDS = ("id.orig_h", "id.resp_h")
_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")


class ZeekLogError(ValueError):
    """A Zeek log that cannot be read; the message names the file, the line and the field."""


@dataclass(frozen=True, slots=True)
class ConnFlow:
    time: float
    uid: str | None
    orig: str
    orig_port: int
    resp: str
    resp_port: int
    transport: str  # tcp, udp, icmp
    service: str | None  # Zeek's protocol guess: "ssl", "http", "dns", "ssl,quic", ...
    duration: float
    orig_bytes: int
    resp_bytes: int


@dataclass(frozen=True, slots=True)
class TlsName:
    uid: str | None
    orig: str
    resp: str
    resp_port: int | None
    server_name: str | None  # None: the client sent no SNI


def read_conn_log(path: Path) -> Iterator[ConnFlow]:
    for number, row in zeek_rows(path, "conn"):
        where = f"{path}:{number}"
        _require(row, CONN_FIELDS, where, "conn.log")
        duration = _number(row, "duration", where, float) or 0.0
        yield ConnFlow(
            time=_time(row["ts"], where),
            uid=_text(row, "uid", where),
            orig=_address(row, "id.orig_h", where),
            orig_port=_number(row, "id.orig_p", where, int) or 0,
            resp=_address(row, "id.resp_h", where),
            resp_port=_number(row, "id.resp_p", where, int) or 0,
            transport=(_text(row, "proto", where) or "").lower(),
            service=_text(row, "service", where),
            duration=max(duration, 0.0),
            orig_bytes=_number(row, "orig_bytes", where, int) or 0,
            resp_bytes=_number(row, "resp_bytes", where, int) or 0,
        )


def read_ssl_log(path: Path) -> Iterator[TlsName]:
    for number, row in zeek_rows(path, "ssl"):
        where = f"{path}:{number}"
        _require(row, SSL_FIELDS, where, "ssl.log")
        name = _text(row, "server_name", where)
        yield TlsName(
            uid=_text(row, "uid", where),
            orig=_address(row, "id.orig_h", where),
            resp=_address(row, "id.resp_h", where),
            resp_port=_number(row, "id.resp_p", where, int),
            server_name=name.rstrip(".").lower() if name else None,
        )


def zeek_rows(path: Path, kind: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, field -> value) of each entry; unset fields are absent, TSV values are strings."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise ZeekLogError(f"{path}: cannot read: {exc.strerror}") from None
    first = next((line for line in lines if line.strip()), "")
    if first.startswith("#separator"):
        yield from _tsv_rows(path, kind, lines)
    elif first.startswith("{"):
        yield from json_rows(path, lines, ZeekLogError)
    elif first:
        raise ZeekLogError(f"{path}:1: not a Zeek {kind}.log (no #separator header, not JSON Lines)")


def _tsv_rows(path: Path, kind: str, lines: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    fields: list[str] = []
    separator, unset, empty = "\t", "-", "(empty)"
    for number, line in enumerate(lines, 1):
        if line.startswith("#"):
            key, _, value = line[1:].partition(separator if not line.startswith("#separator") else " ")
            if key == "separator":
                separator = _unescape(value)
            elif key == "unset_field":
                unset = value
            elif key == "empty_field":
                empty = value
            elif key == "path" and value != kind:
                raise ZeekLogError(f"{path}:{number}: this is Zeek's {value}.log, expected {kind}.log")
            elif key == "fields":
                fields = value.split(separator)
            continue
        if not line.strip():
            continue
        values = line.split(separator)
        if not fields or len(values) != len(fields):
            raise ZeekLogError(f"{path}:{number}: expected {len(fields)} fields (#fields), got {len(values)}")
        yield (
            number,
            {
                name: "" if value == empty else _unescape(value)
                for name, value in zip(fields, values, strict=True)
                if value != unset
            },
        )


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text) if "\\x" in text else text


def _require(row: dict[str, Any], names: tuple[str, ...], where: str, kind: str) -> None:
    missing = [name for name in names if row.get(name) in (None, "")]
    if missing:
        raise ZeekLogError(f"{where}: a {kind} entry needs {', '.join(missing)}")


def _text(row: dict[str, Any], name: str, where: str) -> str | None:
    value = row.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, list):  # JSON sets, e.g. "service": ["ssl", "quic"]
        value = ",".join(str(item) for item in value)
    if not isinstance(value, str):
        raise ZeekLogError(f"{where}: {name}: expected text, got {value!r}")
    return value


def _address(row: dict[str, Any], name: str, where: str) -> str:
    value = _text(row, name, where) or ""
    try:
        return str(ipaddress.ip_address(value))  # the form the capture path uses as a key
    except ValueError:
        raise ZeekLogError(f"{where}: {name}: not an IP address: {value[:60]!r}") from None


def _number(row: dict[str, Any], name: str, where: str, kind: type[int] | type[float]) -> Any:
    value = row.get(name)
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool) or (kind is int and isinstance(value, float)):
            raise ValueError(value)
        number = kind(value)
        if not (0 <= number < 1 << 63 and math.isfinite(number)):
            raise ValueError(value)
    except (ValueError, TypeError, OverflowError):
        raise ZeekLogError(
            f"{where}: {name}: expected a non-negative number, got {str(value)[:60]!r}"
        ) from None
    return number


def _time(value: Any, where: str) -> float:
    """Zeek writes epoch seconds (TSV, JSON default) or ISO 8601 (JSON with JSON::TS_ISO8601)."""
    if isinstance(value, str) and "T" in value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
        except ValueError:
            raise ZeekLogError(f"{where}: ts: not a time: {value[:60]!r}") from None
    return float(_number({"ts": value}, "ts", where, float))
