"""Asterisk cdr_custom and cel_custom CSV files -> `Cdr`, with the column layout read from the mapping.

Both modules write whatever their mapping says, so the layout is a setting: `[fraud]
asterisk_custom_mapping` / `asterisk_cel_mapping` take the mapping as written in cdr_custom.conf /
cel_custom.conf — a legacy line (`Master.csv => ${CSV_QUOTE(${CDR(clid)})},...`) or an advanced
`fields = clid,src,...` list — and empty means the mapping in Asterisk's shipped samples
(`configs/samples/cdr_custom.conf.sample`, `cel_custom.conf.sample`), repeated below; for CEL both the
older sample (20 columns) and the current one, which adds a "My Literal" second column (21).

CEL has one row per channel event; a call is every event sharing a linkedid. It starts at the calling
channel's CHAN_START (the channel whose uniqueid is the linkedid; calls whose first CHAN_START is not in
the file are skipped), is answered at the first ANSWER of any
other channel (the callee or trunk leg: answering the caller alone, e.g. by voicemail, costs nothing), and
ends at LINKEDID_END or when every channel seen starting has hung up (HANGUP or CHAN_END), whichever
comes first, so it works with and without LINKEDID_END in cel.conf `events`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field

from phonewarden.fraud.cdr import Cdr, CdrRowError, LocalTimeParser, parse_any_time, parse_number
from phonewarden.fraud.readers_csv import MAX_PENDING_CALLS, endpoint_of

# Asterisk's configs/samples/cdr_custom.conf.sample, the legacy `Master.csv` mapping (19 columns).
DEFAULT_CDR_MAPPING = (
    "${CSV_QUOTE(${CDR(clid)})},${CSV_QUOTE(${CDR(src)})},${CSV_QUOTE(${CDR(dst)})},"
    "${CSV_QUOTE(${CDR(dcontext)})},${CSV_QUOTE(${CDR(channel)})},${CSV_QUOTE(${CDR(dstchannel)})},"
    "${CSV_QUOTE(${CDR(lastapp)})},${CSV_QUOTE(${CDR(lastdata)})},${CSV_QUOTE(${CDR(start)})},"
    "${CSV_QUOTE(${CDR(answer)})},${CSV_QUOTE(${CDR(end)})},${CSV_QUOTE(${CDR(duration)})},"
    "${CSV_QUOTE(${CDR(billsec)})},${CSV_QUOTE(${CDR(disposition)})},${CSV_QUOTE(${CDR(amaflags)})},"
    "${CSV_QUOTE(${CDR(accountcode)})},${CSV_QUOTE(${CDR(uniqueid)})},${CSV_QUOTE(${CDR(userfield)})},"
    "${CDR(sequence)}"
)
# Asterisk's configs/samples/cel_custom.conf.sample, the legacy `Master.csv` mapping (20 columns).
DEFAULT_CEL_MAPPING = (
    "${CSV_QUOTE(${eventtype})},${CSV_QUOTE(${eventtime})},${CSV_QUOTE(${CALLERID(name)})},"
    "${CSV_QUOTE(${CALLERID(num)})},${CSV_QUOTE(${CALLERID(ANI)})},${CSV_QUOTE(${CALLERID(RDNIS)})},"
    "${CSV_QUOTE(${CALLERID(DNID)})},${CSV_QUOTE(${CHANNEL(exten)})},${CSV_QUOTE(${CHANNEL(context)})},"
    "${CSV_QUOTE(${CHANNEL(channame)})},${CSV_QUOTE(${CHANNEL(appname)})},${CSV_QUOTE(${CHANNEL(appdata)})},"
    "${CSV_QUOTE(${CHANNEL(amaflags)})},${CSV_QUOTE(${CHANNEL(accountcode)})},"
    "${CSV_QUOTE(${CHANNEL(uniqueid)})},${CSV_QUOTE(${CHANNEL(linkedid)})},${CSV_QUOTE(${BRIDGEPEER})},"
    "${CSV_QUOTE(${CHANNEL(userfield)})},${CSV_QUOTE(${userdeftype})},${CSV_QUOTE(${eventextra})}"
)
# The current sample has a literal second column; an uncommented copy of it writes 21 columns.
SAMPLE_CEL_MAPPING_WITH_LITERAL = DEFAULT_CEL_MAPPING.replace(
    "${CSV_QUOTE(${eventtype})},", "${CSV_QUOTE(${eventtype})},${CSV_QUOTE(My Literal)},"
)
CEL_EVENTS = frozenset({  # cel.conf.sample's event list
    "CHAN_START", "CHAN_END", "ANSWER", "HANGUP", "BRIDGE_ENTER", "BRIDGE_EXIT", "APP_START", "APP_END",
    "PARK_START", "PARK_END", "BLINDTRANSFER", "ATTENDEDTRANSFER", "PICKUP", "FORWARD", "LINKEDID_END",
    "USER_DEFINED", "LOCAL_OPTIMIZE", "LOCAL_OPTIMIZE_BEGIN", "STREAM_BEGIN", "STREAM_END", "DTMF",
})  # fmt: skip
# Legacy CEL mapping expressions -> the advanced mapping's field names, which is what the reader uses.
_CEL_NAMES = {
    "eventtype": "eventtype", "eventenum": "eventenum", "eventtime": "eventtime",
    "userdeftype": "usereventname", "eventextra": "extra", "bridgepeer": "peer",
    "callerid(name)": "cidname", "callerid(num)": "cidnum", "callerid(ani)": "cidani",
    "callerid(rdnis)": "cidrdnis", "callerid(dnid)": "ciddnid", "channel(channame)": "channame",
    "channel(accountcode)": "acctcode", "channel(peeraccount)": "peeracct", "channel(peer)": "peer",
}  # fmt: skip
_NOT_ANSWERED = frozenset({"NO ANSWER", "BUSY", "FAILED", "CONGESTION"})
_CDR_CALL = re.compile(r"CDR\(\s*([A-Za-z_]+)", re.IGNORECASE)
_CHANNEL_CALL = re.compile(r"CHANNEL\(\s*([A-Za-z_]+)\s*\)", re.IGNORECASE)
_VARIABLE = re.compile(r"\$\{([A-Za-z_]+)\}")
_QUALIFIER = re.compile(r"\(.*\)$")


def split_mapping(mapping: str) -> list[str]:
    """A mapping's columns: split at commas outside `${...}`/`(...)`, after any `name =>` or `fields =`."""
    text = mapping.strip()
    for marker in ("=>", "="):
        head, found, rest = text.partition(marker)
        if found and "$" not in head and "(" not in head and '"' not in head:
            text = rest.strip()
            break
    columns: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        if char == "," and depth == 0:
            columns.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    columns.append("".join(current).strip())
    if depth != 0:
        raise ValueError(f"mapping has unbalanced braces or parentheses: {mapping[:80]!r}")
    return columns


def _advanced_name(column: str) -> str:
    """`uniqueid(noquote)` -> `uniqueid`; a quoted literal -> ""."""
    return "" if column.startswith('"') else _QUALIFIER.sub("", column).strip().lower()


def cdr_columns(mapping: str) -> dict[str, int]:
    """CDR field name -> column index, from a cdr_custom mapping (legacy `${CDR(x)}` or advanced names)."""
    index: dict[str, int] = {}
    for number, column in enumerate(split_mapping(mapping or DEFAULT_CDR_MAPPING)):
        if "$" in column:
            found = _CDR_CALL.search(column)
            name = found.group(1).lower() if found else ""
        else:
            name = _advanced_name(column)
        if name:
            index.setdefault(name, number)
    missing = [name for name in ("dst",) if name not in index]
    if "end" not in index and not {"start", "duration"} <= index.keys():
        missing.append("end (or start and duration)")
    if "billsec" not in index and "answer" not in index:
        missing.append("billsec or answer")
    if missing:
        raise ValueError(f"cdr_custom mapping lacks {', '.join(missing)}")
    return index


def cel_columns(mapping: str) -> dict[str, int]:
    """CEL field name (advanced mapping names) -> column index, from a cel_custom mapping."""
    index: dict[str, int] = {}
    for number, column in enumerate(split_mapping(mapping or DEFAULT_CEL_MAPPING)):
        if "$" in column:
            inner = column.lower().replace(" ", "")
            channel = _CHANNEL_CALL.search(column)
            named = next((n for key, n in _CEL_NAMES.items() if f"{{{key}}}" in inner), "")
            if not named and channel:
                named = _CEL_NAMES.get(f"channel({channel.group(1).lower()})", channel.group(1).lower())
            if not named:
                variable = _VARIABLE.search(column)
                named = _CEL_NAMES.get(variable.group(1).lower(), "") if variable else ""
            name = named
        else:
            name = _advanced_name(column)
        if name:
            index.setdefault(name, number)
    missing = [name for name in ("eventtype", "eventtime", "uniqueid", "linkedid") if name not in index]
    if missing:
        raise ValueError(f"cel_custom mapping lacks {', '.join(missing)}")
    return index


class AsteriskCustom:
    """cdr_custom rows: one call a row, columns named by the mapping."""

    name = "asterisk-custom"

    def __init__(self, local: LocalTimeParser, mapping: str = "") -> None:
        self.local = local
        self.index = cdr_columns(mapping)
        self.width = max(self.index.values()) + 1

    def convert(self, row: list[str]) -> Cdr | None:
        if len(row) < self.width:
            raise CdrRowError(f"{len(row)} columns, the cdr_custom mapping has {self.width}")
        index = self.index

        def text(name: str) -> str:
            return row[index[name]].strip() if name in index else ""

        if text("end"):
            end = parse_any_time(text("end"), "end", self.local)
            start = (
                parse_any_time(text("start"), "start", self.local)
                if text("start")
                else end - parse_number(text("duration") or "0", "duration")
            )
        else:
            start = parse_any_time(text("start"), "start", self.local)
            end = start + parse_number(text("duration"), "duration")
        if text("disposition").upper() in _NOT_ANSWERED:
            billsec = 0.0
        elif text("billsec"):
            billsec = parse_number(text("billsec"), "billsec")
        elif text("answer"):
            billsec = max(0.0, end - parse_any_time(text("answer"), "answer", self.local))
        else:
            billsec = 0.0
        account = text("accountcode") or endpoint_of(text("channel")) or text("src")
        if not account:
            raise CdrRowError("accountcode, channel and src are all empty")
        return Cdr(
            account=account, destination=text("dst"), start=start, end=end, billsec=billsec,
            source=text("src"), call_id=text("uniqueid"),
        )  # fmt: skip


@dataclass(slots=True)
class _CelCall:
    first: float  # the first CHAN_START seen
    start: float | None = None  # the calling channel's CHAN_START
    answer: float | None = None  # first ANSWER of another channel
    account: str = ""
    destination: str = ""
    source: str = ""
    channel: str = ""
    live: set[str] = field(default_factory=set)  # uniqueids started and not yet hung up


class AsteriskCel:
    """cel_custom rows folded into calls by linkedid (module docstring); a call is yielded at its end."""

    name = "asterisk-cel"

    def __init__(self, local: LocalTimeParser, mapping: str = "") -> None:
        self.local = local
        self.index = cel_columns(mapping)
        self.width = max(self.index.values()) + 1
        # Without a mapping: either sample's layout, told apart by the row's width.
        self.by_width = {} if mapping else {21: cel_columns(SAMPLE_CEL_MAPPING_WITH_LITERAL)}
        self.pending: OrderedDict[str, _CelCall] = OrderedDict()
        self.evicted = 0

    def convert(self, row: list[str]) -> Cdr | None:
        if len(row) < self.width:
            raise CdrRowError(f"{len(row)} columns, the cel_custom mapping has {self.width}")
        index = self.by_width.get(len(row), self.index)

        def text(name: str) -> str:
            return row[index[name]].strip() if name in index else ""

        event = text("eventtype").upper()
        if event not in CEL_EVENTS:
            if event:
                return None  # a user-defined event name: nothing about the call's cost
            raise CdrRowError("eventtype is empty")
        now = parse_any_time(text("eventtime"), "eventtime", self.local)
        linkedid, uniqueid = text("linkedid"), text("uniqueid")
        if not linkedid or not uniqueid:
            raise CdrRowError("event has no linkedid or uniqueid")
        call = self.pending.get(linkedid)
        if call is None:
            if event != "CHAN_START":
                return None  # a call that began before the file: its start and cost are unknown
            if len(self.pending) >= MAX_PENDING_CALLS:
                self.pending.popitem(last=False)
                self.evicted += 1
            call = self.pending[linkedid] = _CelCall(first=now)
        calling = uniqueid == linkedid
        if calling and not call.account:
            call.account = text("acctcode") or endpoint_of(text("channame")) or text("cidnum")
            call.source, call.channel = text("cidnum"), text("channame")
        if event == "CHAN_START":
            call.live.add(uniqueid)
            if calling:
                call.start = now
                exten = text("exten")
                call.destination = exten if exten and exten != "s" else text("ciddnid")
        elif event == "ANSWER":
            if not calling and call.answer is None:
                call.answer = now
        elif event in ("HANGUP", "CHAN_END"):
            call.live.discard(uniqueid)
            if not call.live:
                return self._finish(linkedid, now)
        elif event == "LINKEDID_END":
            return self._finish(linkedid, now)
        return None

    def _finish(self, linkedid: str, end: float) -> Cdr:
        call = self.pending.pop(linkedid)
        if not call.account:
            raise CdrRowError(f"call {linkedid!r}: no event of its calling channel (uniqueid = linkedid)")
        # A file out of time order must not give a call that ends before it starts or bills more.
        start = min(call.start if call.start is not None else call.first, end)
        billsec = end - max(call.answer, start) if call.answer is not None else 0.0
        return Cdr(
            account=call.account, destination=call.destination, start=start, end=end, billsec=billsec,
            source=call.source, call_id=linkedid,
        )  # fmt: skip

    @property
    def unfinished(self) -> int:
        return len(self.pending)
