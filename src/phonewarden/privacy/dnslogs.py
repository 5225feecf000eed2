"""DNS logs as a second source of host names: dnsmasq/Pi-hole query logs and Zeek dns.log (TSV or JSON).

A capture often misses the lookups (they happened before capturing started, or the router answered from
its cache), so `analyze --dns-log FILE` reads what the resolver logged: which client asked for which
name and which addresses came back. Log names are used for a destination when the capture itself saw no
DNS answer for it; they are not tied to a time (syslog lines carry no year), the last one logged wins.

dnsmasq (`log-queries`, also Pi-hole's pihole.log) logs the query with its client and the reply without;
a reply is given to every client that asked for that name in the last MAX_PENDING queries.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_PENDING = 4096  # dnsmasq queries waiting for their reply line

# After the syslog prefix ("dnsmasq[42]:", Pi-hole v6 just ":") and, with log-queries=extra, "7 client/port".
_DNSMASQ_QUERY = re.compile(r": (?:\d+ \S+ )?query\[[A-Z0-9]+\] (\S+) from (\S+)")
_DNSMASQ_REPLY = re.compile(r": (?:\d+ \S+ )?(?:reply|cached|config|cached-stale|/\S+) (\S+) is (\S+)")


class DnsLogError(ValueError):
    """A DNS log that cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class NameAnswer:
    client: str
    name: str
    address: str


def read_dns_log(path: Path) -> Iterator[NameAnswer]:
    """(client, name, address) for every address answer in a dnsmasq/Pi-hole log or a Zeek dns.log."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise DnsLogError(f"{path}: cannot read: {exc.strerror}") from None
    first = next((line for line in lines if line.strip()), "")
    if first.startswith("#separator"):
        yield from _zeek_tsv(path, lines)
    elif first.startswith("{"):
        yield from _zeek_json(path, lines)
    else:
        yield from _dnsmasq(lines)


def _is_address(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9.]{7,15}|[0-9A-Fa-f:]{2,39}", text)) and ("." in text or ":" in text)


def _dnsmasq(lines: list[str]) -> Iterator[NameAnswer]:
    pending: OrderedDict[str, set[str]] = OrderedDict()  # name -> clients that asked
    chain: str | None = None  # the asked name while dnsmasq logs its CNAME chain, one reply line a link
    for line in lines:
        query = _DNSMASQ_QUERY.search(line)
        if query:
            name, client = query.group(1).lower(), query.group(2).split("/")[0]
            pending.setdefault(name, set()).add(client)
            pending.move_to_end(name)
            if len(pending) > MAX_PENDING:
                pending.popitem(last=False)
            chain = None
            continue
        reply = _DNSMASQ_REPLY.search(line)
        if not reply:
            continue
        name, value = reply.group(1).lower(), reply.group(2)
        if name in pending:
            asked = chain = name
        elif chain is not None:
            asked = chain  # a link of the chain: attributed to the name the client asked for
        else:
            continue
        if _is_address(value):  # not <CNAME>, NXDOMAIN, NODATA, <HTTPS>, ...
            for client in pending.get(asked, ()):
                yield NameAnswer(client, asked, value)


def _zeek_tsv(path: Path, lines: list[str]) -> Iterator[NameAnswer]:
    fields: list[str] = []
    for number, line in enumerate(lines, 1):
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
            continue
        if line.startswith("#") or not line.strip():
            continue
        values = line.split("\t")
        if not fields or len(values) != len(fields):
            raise DnsLogError(
                f"{path}:{number}: expected {len(fields)} tab-separated fields (#fields), got {len(values)}"
            )
        row = dict(zip(fields, values, strict=True))
        yield from _zeek_row(
            path, number, row.get("id.orig_h"), row.get("query"), row.get("answers", "-").split(",")
        )


def json_rows(path: Path, lines: list[str], error: type[Exception]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Zeek's JSON Lines (`LogAscii::use_json`): one object per line; `error` names the file and line."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{path}:{number}: not JSON: {exc.msg}") from None
        if not isinstance(row, dict):
            raise error(f"{path}:{number}: expected a JSON object per line")
        yield number, row


def _zeek_json(path: Path, lines: list[str]) -> Iterator[NameAnswer]:
    for number, row in json_rows(path, lines, DnsLogError):
        answers = row.get("answers") or []
        yield from _zeek_row(
            path, number, row.get("id.orig_h"), row.get("query"), answers if isinstance(answers, list) else []
        )


def _zeek_row(
    path: Path, number: int, client: object, query: object, answers: Sequence[object]
) -> Iterator[NameAnswer]:
    if not isinstance(client, str) or not isinstance(query, str):
        raise DnsLogError(f"{path}:{number}: a dns.log entry needs id.orig_h and query")
    if query == "-":
        return
    for answer in answers:
        if isinstance(answer, str) and _is_address(answer):
            yield NameAnswer(client, query.lower(), answer)
