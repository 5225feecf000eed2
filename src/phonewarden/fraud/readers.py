"""Read CDR files of any supported format, detected from the first lines, with line-numbered errors.

Bad rows are skipped and reported as `path:line: what is wrong`; a file whose format cannot be told
raises `CdrFormatError`. Formats: asterisk (cdr_csv), asterisk-custom (cdr_custom), asterisk-cel
(cel_custom), freeswitch-csv, freeswitch-json, kamailio-acc (CSV with a header, or syslog `ACC:` lines),
generic-csv, generic-json (one object per line, or an array). cdr_custom and cel_custom files are told
apart by their default layouts; with a custom mapping name the format (`--format`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from phonewarden.fraud.cdr import Cdr, CdrFormatError, CdrRowError, LocalTimeParser
from phonewarden.fraud.readers_asterisk import CEL_EVENTS, AsteriskCel, AsteriskCustom
from phonewarden.fraud.readers_csv import (
    ASTERISK_COLUMNS,
    FREESWITCH_COLUMNS,
    AsteriskCsv,
    FreeswitchCsv,
    GenericCsv,
    KamailioAcc,
    parse_kamailio_syslog,
)
from phonewarden.fraud.readers_json import json_object_cdr
from phonewarden.fraud.settings import FraudSettings

FORMATS = (
    "asterisk", "asterisk-custom", "asterisk-cel", "freeswitch-csv", "freeswitch-json", "kamailio-acc",
    "generic-csv", "generic-json",
)  # fmt: skip
CDR_CUSTOM_COLUMNS = 19  # Asterisk's sample cdr_custom mapping
CEL_CUSTOM_COLUMNS = 20  # Asterisk's sample cel_custom mapping
MAX_REPORTED_ERRORS = 1000


@dataclass
class ReadReport:
    """What a read skipped; `errors` keeps the first MAX_REPORTED_ERRORS messages."""

    rows: int = 0
    cdrs: int = 0
    bad_rows: int = 0
    errors: list[str] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)

    def bad(self, where: str, message: str) -> None:
        self.bad_rows += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(f"{where}: {message}")


def detect_format(head: str) -> str:
    """The format of a CDR text from its first lines."""
    lines = [line for line in head.splitlines() if line.strip()][:5]
    if not lines:
        raise CdrFormatError("empty input")
    first = lines[0].lstrip("\ufeff").strip()
    if first.startswith(("{", "[")):
        return "freeswitch-json" if '"variables"' in head else "generic-json"
    if "ACC:" in first and "method=" in first:
        return "kamailio-acc"
    row = next(csv.reader([first]))
    if len(row) >= 4 and row[0].strip().upper() in CEL_EVENTS:
        return "asterisk-cel"
    header = {cell.strip().lower() for cell in row}
    if "method" in header and ("callid" in header or "call_id" in header):
        return "kamailio-acc"
    looks_like_header = not any(_looks_like_time(cell) or cell.strip().isdigit() for cell in row)
    if header & {"account", "destination", "end", "billsec"} or (len(row) >= 3 and looks_like_header):
        return "generic-csv"
    if len(row) in ASTERISK_COLUMNS and _looks_like_time(row[9]) and row[12].isdigit():
        return "asterisk"
    if len(row) == FREESWITCH_COLUMNS and _looks_like_time(row[4]) and row[7].isdigit():
        return "freeswitch-csv"
    if len(row) == CDR_CUSTOM_COLUMNS and _looks_like_time(row[8]) and _is_number(row[11]):
        return "asterisk-custom"
    raise CdrFormatError(
        f"cannot tell the format of a line with {len(row)} columns: expected Asterisk Master.csv "
        "(cdr_csv 16/17/18/21, cdr_custom 19, cel_custom 20 columns as in Asterisk's samples), FreeSWITCH "
        "cdr_csv (15), Kamailio acc, JSON, or a CSV header (use --format)"
    )


def _is_number(text: str) -> bool:
    return text.replace(".", "", 1).isdigit()


def _looks_like_time(text: str) -> bool:
    return len(text) >= 19 and text[4] == "-" and text[13] == ":"


def read_cdrs(
    path: Path, settings: FraudSettings, report: ReadReport, fmt: str | None = None
) -> Iterator[Cdr]:
    """Yield the CDRs of `path` in file order; bad rows go to `report`."""
    try:
        handle = path.open(encoding="utf-8", errors="replace", newline="")
    except OSError as exc:
        raise CdrFormatError(f"{path}: cannot open: {exc.strerror}") from exc
    with handle:
        head = handle.read(8192)
        handle.seek(0)
        try:
            chosen = fmt or detect_format(head)
        except CdrFormatError as exc:
            raise CdrFormatError(f"{path}: {exc}") from None
        if chosen not in FORMATS:
            raise CdrFormatError(f"unknown format {chosen!r}; known: {', '.join(FORMATS)}")
        report.formats[str(path)] = chosen
        yield from read_text(handle, str(path), chosen, settings, report)


def read_text(
    handle: io.TextIOBase | Any, name: str, fmt: str, settings: FraudSettings, report: ReadReport
) -> Iterator[Cdr]:
    local = LocalTimeParser(settings.cdr_timezone)
    if fmt in ("freeswitch-json", "generic-json"):
        yield from _json(handle.read(), name, settings, local, report)
        return
    first_line = handle.readline()
    handle.seek(0)
    if fmt == "kamailio-acc" and "ACC:" in first_line:
        yield from _kamailio_syslog(handle, name, settings, report)
        return
    handle.seek(0)
    reader = csv.reader(handle)
    converter: Any
    if fmt == "asterisk":
        converter = AsteriskCsv(local)
    elif fmt == "freeswitch-csv":
        converter = FreeswitchCsv(local)
    elif fmt == "asterisk-custom":
        converter = AsteriskCustom(local, settings.asterisk_custom_mapping)
    elif fmt == "asterisk-cel":
        converter = AsteriskCel(local, settings.asterisk_cel_mapping)
    else:
        header = next(reader, [])
        try:
            converter = (
                GenericCsv(local, header, settings.generic_fields)
                if fmt == "generic-csv"
                else _KamailioCsv(header, settings)
            )
        except CdrRowError as exc:
            raise CdrFormatError(f"{name}:1: {exc}") from None
    convert = converter.convert
    rows = 0
    for row in reader:
        rows += 1
        if not row:
            continue
        try:
            cdr = convert(row)
        except (CdrRowError, IndexError) as exc:
            report.bad(f"{name}:{reader.line_num}", str(exc))
            continue
        if cdr is not None:
            cdr.origin, cdr.line = name, reader.line_num
            report.cdrs += 1
            yield cdr
    report.rows += rows


class LineReader:
    """Converts a growing CDR file line by line (fraud/cdr_follow.py), keeping what spans lines: the
    CSV header of generic-csv and Kamailio acc exports, the INVITE/BYE pairs of Kamailio acc and the
    events of one CEL call. JSON formats are read as JSON Lines (one object per line).
    A quoted CSV field holding a line break is not supported here (none of the formats writes one)."""

    def __init__(self, fmt: str, settings: FraudSettings) -> None:
        if fmt not in FORMATS:
            raise CdrFormatError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
        self.fmt = fmt
        self.settings = settings
        self.local = LocalTimeParser(settings.cdr_timezone)
        self.header: list[str] | None = None
        self._converter: Any = None
        self._syslog = False
        self._pairer: KamailioAcc | None = None
        self._generic: GenericCsv | None = None
        if fmt == "asterisk":
            self._converter = AsteriskCsv(self.local)
        elif fmt == "freeswitch-csv":
            self._converter = FreeswitchCsv(self.local)
        elif fmt == "asterisk-custom":
            self._converter = AsteriskCustom(self.local, settings.asterisk_custom_mapping)
        elif fmt == "asterisk-cel":
            self._converter = AsteriskCel(self.local, settings.asterisk_cel_mapping)
        elif fmt in ("freeswitch-json", "generic-json"):
            self._generic = _generic_for_json(self.local, settings)

    @property
    def needs_header(self) -> bool:
        return self._converter is None and self.fmt in ("generic-csv", "kamailio-acc") and not self._syslog

    def start_file(self, first_line: str, header: list[str] | None = None) -> bool:
        """At the start of a file: True when `first_line` is a header (consumed). `header` restores
        one saved before a restart (then no line is consumed)."""
        if self.fmt == "kamailio-acc" and "ACC:" in first_line:
            self._syslog = True
            self._pairer = KamailioAcc(
                self.settings.kamailio_account_field, self.settings.kamailio_destination_field
            )
            return False
        if self.fmt not in ("generic-csv", "kamailio-acc"):
            return False
        consumed = header is None
        row = header if header is not None else next(csv.reader([first_line.lstrip("\ufeff")]), [])
        try:
            self._converter = (
                GenericCsv(self.local, row, self.settings.generic_fields)
                if self.fmt == "generic-csv"
                else _KamailioCsv(row, self.settings)
            )
        except CdrRowError as exc:
            raise CdrFormatError(f"header: {exc}") from None
        self.header = row
        return consumed

    def convert(self, line: str) -> Cdr | None:
        """One line -> a CDR, or None (a blank line, half of a pair); raises CdrRowError."""
        if not line.strip():
            return None
        if self._syslog:
            assert self._pairer is not None
            return self._pairer.from_fields(parse_kamailio_syslog(line)) if "ACC:" in line else None
        if self.fmt in ("freeswitch-json", "generic-json"):
            try:
                document = msgspec.json.decode(line)
            except msgspec.DecodeError as exc:
                raise CdrRowError(f"not JSON: {exc}") from None
            if not isinstance(document, dict):
                raise CdrRowError("expected a JSON object")
            return json_object_cdr(document, self._generic)
        if self._converter is None:
            raise CdrRowError("no header line read yet")
        row = next(csv.reader([line]), [])
        try:
            return self._converter.convert(row)  # type: ignore[no-any-return]
        except IndexError as exc:
            raise CdrRowError(f"too few columns ({len(row)})") from exc


class _KamailioCsv:
    def __init__(self, header: list[str], settings: FraudSettings) -> None:
        self.header = [name.strip().lower() for name in header]
        self.pairer = KamailioAcc(settings.kamailio_account_field, settings.kamailio_destination_field)

    def convert(self, row: list[str]) -> Cdr | None:
        return self.pairer.from_fields(dict(zip(self.header, row, strict=False)))


def _kamailio_syslog(handle: Any, name: str, settings: FraudSettings, report: ReadReport) -> Iterator[Cdr]:
    pairer = KamailioAcc(settings.kamailio_account_field, settings.kamailio_destination_field)
    for number, line in enumerate(handle, start=1):
        if "ACC:" not in line:
            continue
        report.rows += 1
        try:
            cdr = pairer.from_fields(parse_kamailio_syslog(line))
        except CdrRowError as exc:
            report.bad(f"{name}:{number}", str(exc))
            continue
        if cdr is not None:
            cdr.origin, cdr.line = name, number
            report.cdrs += 1
            yield cdr


def _json(
    text: str, name: str, settings: FraudSettings, local: LocalTimeParser, report: ReadReport
) -> Iterator[Cdr]:
    stripped = text.lstrip("\ufeff").strip()
    documents: list[tuple[int, Any]]
    try:  # one document (a mod_json_cdr file, pretty-printed or not) or an array of them
        whole = msgspec.json.decode(stripped)
        documents = [(1, item) for item in whole] if isinstance(whole, list) else [(1, whole)]
    except msgspec.DecodeError:
        documents = []  # else JSON Lines: one object per line, bad lines reported by number
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    documents.append((number, msgspec.json.decode(line)))
                except msgspec.DecodeError as exc:
                    report.bad(f"{name}:{number}", f"not JSON: {exc}")
    generic = _generic_for_json(local, settings)
    for number, document in documents:
        report.rows += 1
        try:
            if not isinstance(document, dict):
                raise CdrRowError("expected a JSON object")
            cdr = json_object_cdr(document, generic)
        except CdrRowError as exc:
            report.bad(f"{name}:{number}", str(exc))
            continue
        if cdr is None:
            continue  # a FreeSWITCH B leg: the A leg's document has the call
        cdr.origin, cdr.line = name, number
        report.cdrs += 1
        yield cdr


def _generic_for_json(local: LocalTimeParser, settings: FraudSettings) -> GenericCsv:
    header = [settings.generic_fields.get(name, name) for name in ("account", "destination", "start")]
    header += [settings.generic_fields.get(name, name) for name in ("answer", "end", "billsec", "source")]
    header += [settings.generic_fields.get(name, name) for name in ("call_id", "source_ip", "cost")]
    return GenericCsv(local, header, settings.generic_fields)
