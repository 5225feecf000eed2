"""The normalised call record every reader yields, and the errors readers raise.

Times are event time in float epoch seconds (UTC). A CDR is written at hang-up, so `end` is when the
guard learns about the call; detectors use it as the record's time.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec


class Cdr(msgspec.Struct, gc=False):
    account: str  # the billing customer (Asterisk accountcode, FreeSWITCH accountcode/user_name, ...)
    destination: str  # dialled digits as the PBX saw them
    start: float
    end: float
    billsec: float  # answered seconds, 0 when not answered
    source: str = ""  # calling endpoint (extension, auth user, trunk)
    call_id: str = ""
    source_ip: str = ""
    cost: float | None = None  # a rated cost from the PBX/billing, when the format carries one
    origin: str = ""  # the file (or "push") it came from, for explanations
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.origin}:{self.line}" if self.line else self.origin

    @property
    def answered(self) -> bool:
        return self.billsec > 0


class CdrFormatError(Exception):
    """A CDR input that cannot be read at all (unknown format, unreadable file)."""


class CdrRowError(ValueError):
    """One bad row; readers catch it, add file and line, count it and go on."""


class LocalTimeParser:
    """`YYYY-MM-DD HH:MM:SS` in a given zone -> epoch seconds, fast: each minute's epoch is cached.

    strptime costs ~10 µs a call; replaying 100k CDRs/s leaves no room for it. A CDR file is in time
    order, so nearly every row hits a cached minute and costs one slice, one dict lookup and one
    float(). The cache is bounded because a file can hold years of minutes.
    """

    __slots__ = ("_hours", "_minutes", "zone")

    def __init__(self, zone: str = "UTC") -> None:
        self.zone = ZoneInfo(zone)
        self._minutes: dict[str, float] = {}
        self._hours: dict[str, float] = {}  # a zone's offset changes on the hour at most

    def parse(self, text: str) -> float:
        base = self._minutes.get(text[:16])
        if base is not None and len(text) >= 19 and text[16] == ":":
            try:
                seconds = float(text[17:])
            except ValueError:
                seconds = -1.0  # the checked path below says what is wrong
            if 0.0 <= seconds < 61.0:
                return base + seconds
        return self._parse_checked(text)

    def _parse_checked(self, text: str) -> float:
        if len(text) < 19 or text[4] != "-" or text[13] != ":" or text[16] != ":":
            raise CdrRowError(f"time {text!r} is not YYYY-MM-DD HH:MM:SS")
        hour = self._hours.get(text[:13])
        if hour is None:
            try:
                hour = datetime.fromisoformat(text[:13] + ":00:00").replace(tzinfo=self.zone).timestamp()
            except ValueError as exc:
                raise CdrRowError(f"time {text!r} is not a valid date and hour") from exc
            if len(self._hours) >= 100_000:
                self._hours.clear()
            self._hours[text[:13]] = hour
        try:
            minutes, seconds = int(text[14:16]), float(text[17:])
        except ValueError as exc:
            raise CdrRowError(f"time {text!r} has bad minutes or seconds") from exc
        if not (0 <= minutes < 60 and 0 <= seconds < 61):
            raise CdrRowError(f"time {text!r} has minutes or seconds out of range")
        if len(self._minutes) >= 200_000:
            self._minutes.clear()
        self._minutes[text[:16]] = hour + minutes * 60
        return hour + minutes * 60 + seconds


def parse_number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise CdrRowError(f"{what} {text!r} is not a number") from exc
    if not 0 <= value < 1e7:
        raise CdrRowError(f"{what} {text!r} is out of range")
    return value


def parse_epoch(text: str, what: str) -> float:
    """Epoch seconds (or FreeSWITCH microseconds) between 1990 and 2200."""
    try:
        value = float(text)
    except ValueError as exc:
        raise CdrRowError(f"{what} {text!r} is not epoch seconds") from exc
    if value > 1e11:
        value /= 1e6
    if not 6.3e8 < value < 7.3e9:
        raise CdrRowError(f"{what} {text!r} is not a plausible epoch time")
    return value


def parse_any_time(text: str, what: str, local: LocalTimeParser) -> float:
    """Epoch seconds, ISO 8601 with offset, or local `YYYY-MM-DD HH:MM:SS`."""
    text = text.strip()
    if not text:
        raise CdrRowError(f"{what} is empty")
    if text.replace(".", "", 1).isdigit():
        value = float(text)
        return value / 1e6 if value > 1e11 else value  # FreeSWITCH *_uepoch is microseconds
    if len(text) == 19 and text[10] in " T":
        return local.parse(text[:10] + " " + text[11:])
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise CdrRowError(f"{what} {text!r} is neither epoch seconds nor ISO 8601") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=local.zone)
    return moment.timestamp()
