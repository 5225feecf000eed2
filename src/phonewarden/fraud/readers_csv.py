"""Row converters for the CSV formats: Asterisk cdr_csv, FreeSWITCH cdr_csv, Kamailio acc, generic.

Each converter turns one already split row into a `Cdr` (or None for a row that is not a call, such as
a Kamailio INVITE still waiting for its BYE) and raises `CdrRowError` naming the bad field.
Column orders: Asterisk `cdr/cdr_csv.c` build_csv_record; FreeSWITCH `cdr_csv.conf.xml` template
`example`; Kamailio `acc` README (method, from_tag, to_tag, callid, sip_code, sip_reason, time + extras).
"""

from __future__ import annotations

from collections import OrderedDict

from phonewarden.fraud.cdr import (
    Cdr,
    CdrRowError,
    LocalTimeParser,
    parse_any_time,
    parse_epoch,
    parse_number,
)

ASTERISK_COLUMNS = (16, 17, 18, 21)  # base; +uniqueid; +userfield; +peeraccount, linkedid, sequence
FREESWITCH_COLUMNS = 15
GENERIC_FIELDS = (
    "account", "destination", "start", "answer", "end", "billsec", "source", "call_id", "source_ip", "cost",
)  # fmt: skip
MAX_PENDING_CALLS = 100_000


def endpoint_of(channel: str) -> str:
    """`PJSIP/1001-0000002a` -> `PJSIP/1001`: the calling endpoint when accountcode is empty."""
    name, _, _ = channel.rpartition("-")
    return name or channel


class AsteriskCsv:
    name = "asterisk"

    def __init__(self, local: LocalTimeParser) -> None:
        self.local = local
        self._parse_time = local.parse  # bound once: this runs for every row

    def convert(self, row: list[str]) -> Cdr | None:
        if len(row) not in ASTERISK_COLUMNS:
            raise CdrRowError(f"{len(row)} columns, Asterisk Master.csv has 16, 17, 18 or 21")
        try:  # the common case without per-field checks; any doubt goes to the checked path
            end = self._parse_time(row[11])
            duration = float(row[12])
            billsec = float(row[13]) if row[14] == "ANSWERED" else 0.0
        except ValueError:
            return self._checked(row)
        if not (0.0 <= duration < 1e7 and 0.0 <= billsec < 1e7):
            return self._checked(row)
        return Cdr(
            row[0] or endpoint_of(row[5]) or row[1], row[2], end - duration, end, billsec, row[1],
            row[16] if len(row) > 16 else "",
        )  # fmt: skip

    def _checked(self, row: list[str]) -> Cdr:
        """Field by field, so a bad row's error names the field."""
        end = self.local.parse(row[11])
        start = end - parse_number(row[12], "duration")  # duration is end - start: one parse, not two
        billsec = parse_number(row[13], "billsec") if row[14] == "ANSWERED" else 0.0
        account = row[0] or endpoint_of(row[5]) or row[1]
        return Cdr(
            account=account, destination=row[2], start=start, end=end, billsec=billsec,
            source=row[1], call_id=row[16] if len(row) > 16 else "",
        )  # fmt: skip


class FreeswitchCsv:
    name = "freeswitch-csv"

    def __init__(self, local: LocalTimeParser) -> None:
        self.local = local

    def convert(self, row: list[str]) -> Cdr | None:
        if len(row) != FREESWITCH_COLUMNS:
            raise CdrRowError(f"{len(row)} columns, the FreeSWITCH 'example' template has 15")
        end = self.local.parse(row[6])
        start = end - parse_number(row[7], "duration")
        billsec = parse_number(row[8], "billsec") if row[5] else 0.0
        return Cdr(
            account=row[12] or row[1], destination=row[2], start=start, end=end, billsec=billsec,
            source=row[1], call_id=row[10],
        )  # fmt: skip


class GenericCsv:
    """A CSV with a header row; `fields` maps canonical names to the export's column names."""

    name = "generic-csv"

    def __init__(self, local: LocalTimeParser, header: list[str], fields: dict[str, str]) -> None:
        self.local = local
        unknown = sorted(set(fields) - set(GENERIC_FIELDS))
        if unknown:
            raise CdrRowError(f"generic_fields has unknown names {unknown}; known: {list(GENERIC_FIELDS)}")
        columns = {name.strip().lower(): index for index, name in enumerate(header)}
        self.names = {canonical: fields.get(canonical, canonical).lower() for canonical in GENERIC_FIELDS}
        self.index: dict[str, int] = {}
        for canonical in GENERIC_FIELDS:
            column = fields.get(canonical, canonical).lower()
            if column in columns:
                self.index[canonical] = columns[column]
        missing = [name for name in ("account", "destination", "end") if name not in self.index]
        if missing or ("billsec" not in self.index and "answer" not in self.index):
            need = missing or ["billsec or answer"]
            raise CdrRowError(f"header lacks {need} (map them with [fraud] generic_fields)")

    def convert(self, row: list[str]) -> Cdr | None:
        return self.from_fields({name: row[i] for name, i in self.index.items() if i < len(row)})

    def from_mapping(self, document: dict[str, object]) -> Cdr:
        """A JSON object keyed by the export's own names."""
        lowered = {str(key).lower(): value for key, value in document.items() if value is not None}
        return self.from_fields(
            {canonical: str(lowered[name]) for canonical, name in self.names.items() if name in lowered}
        )

    def from_fields(self, values: dict[str, str]) -> Cdr:
        def text(name: str) -> str:
            return str(values.get(name) or "").strip()

        end = parse_any_time(text("end"), "end", self.local)
        start = parse_any_time(text("start"), "start", self.local) if text("start") else end
        if text("billsec"):
            billsec = parse_number(text("billsec"), "billsec")
        elif text("answer"):
            billsec = max(0.0, end - parse_any_time(text("answer"), "answer", self.local))
        else:
            billsec = 0.0
        if not text("account"):
            raise CdrRowError("account is empty")
        cost = parse_number(text("cost"), "cost") if text("cost") else None
        return Cdr(
            account=text("account"), destination=text("destination"), start=start, end=end,
            billsec=billsec, source=text("source"), call_id=text("call_id"), source_ip=text("source_ip"),
            cost=cost,
        )  # fmt: skip


class KamailioAcc:
    """Pairs acc transaction records into calls: INVITE 200 (answer) ... BYE (end), by Call-ID.

    acc logs only transactions; the caller and callee exist only as configured extra fields
    (`log_extra`/`db_extra`, e.g. src_user=$fU;dst_user=$rU;src_ip=$si). A failed INVITE is a call of
    0 s at once. Pending calls are bounded; `unfinished` counts answered calls whose BYE never came.
    """

    name = "kamailio-acc"

    def __init__(self, account_field: str, destination_field: str) -> None:
        self.account_field = account_field
        self.destination_field = destination_field
        self.pending: OrderedDict[str, tuple[float, dict[str, str]]] = OrderedDict()
        self.evicted = 0

    def from_fields(self, fields: dict[str, str]) -> Cdr | None:
        method = fields.get("method", "").upper()
        call_id = fields.get("callid") or fields.get("call_id") or ""
        if not method or not call_id:
            raise CdrRowError("record has no method or callid")
        time = parse_epoch(fields.get("time") or fields.get("timestamp") or "", "time")
        if method == "INVITE":
            code = fields.get("sip_code") or fields.get("code") or ""
            if code.startswith("2"):
                if len(self.pending) >= MAX_PENDING_CALLS:
                    self.pending.popitem(last=False)
                    self.evicted += 1
                self.pending[call_id] = (time, fields)
                return None
            return self._cdr(fields, call_id, time, time, 0.0)
        if method == "BYE":
            answered = self.pending.pop(call_id, None)
            if answered is None:
                return None  # a BYE for a call answered before the file began
            answer_time, invite = answered
            return self._cdr(invite, call_id, answer_time, time, max(0.0, time - answer_time))
        return None

    def _cdr(self, fields: dict[str, str], call_id: str, start: float, end: float, billsec: float) -> Cdr:
        account = fields.get(self.account_field, "")
        if not account:
            raise CdrRowError(f"record has no {self.account_field!r} (set acc log_extra/db_extra)")
        return Cdr(
            account=account, destination=fields.get(self.destination_field, ""), start=start, end=end,
            billsec=billsec, source=account, call_id=call_id, source_ip=fields.get("src_ip", ""),
        )  # fmt: skip

    @property
    def unfinished(self) -> int:
        return len(self.pending)


def parse_kamailio_syslog(line: str) -> dict[str, str]:
    """`... ACC: transaction answered: timestamp=..;method=INVITE;...` -> the key=value pairs."""
    _, marker, rest = line.partition("ACC:")
    if not marker:
        raise CdrRowError("line has no 'ACC:' marker")
    _, _, pairs = rest.partition(": ")
    fields: dict[str, str] = {}
    for pair in pairs.strip().split(";"):
        key, equals, value = pair.partition("=")
        if equals:
            fields[key.strip()] = value.strip()
    return fields
