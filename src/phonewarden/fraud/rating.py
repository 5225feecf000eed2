"""Destination -> E.164, country, number type, risk and per-minute price; so every call has a cost.

phonenumbers gives the country and number type (premium, shared cost, mobile, +881/+882/+883 networks);
the shipped, dated tables in `data/` give prices (longest prefix) and IRSF-prone ranges. Ratings are
cached per dialled string: a PBX dials the same numbers again and again.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberType
from phonenumbers.shortnumberinfo import is_emergency_number

from phonewarden.fraud.settings import FraudSettings

DATA_DIR = Path(__file__).parent / "data"
MAX_CACHE = 200_000
INTERNAL_MAX_DIGITS = 6  # extensions and short codes: no cost, never international
SATELLITE_CODES = frozenset({881, 882, 883})
TYPE_NAMES = {
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
RISK_ORDER = {"none": 0, "low": 1, "medium": 2, "high": 3}


class TableError(ValueError):
    """A tariff or risk table row that cannot be used; the message names file and line."""


@dataclass(frozen=True, slots=True)
class Rating:
    e164: str  # digits without "+", "" for internal numbers
    country: str  # ISO region, "001" for international networks, "" when unknown
    scope: str  # internal | emergency | national | international | invalid
    number_type: str
    risk: str  # none | low | medium | high
    rate: float  # per minute
    label: str = ""
    # Dialled to another country code, valid or not: phonenumbers' patterns lag behind new ranges, and
    # an attacker's number need not be "valid" to be routed and paid for. Restrictions use this flag.
    international: bool = False


def _rows(path: Path, columns: int) -> list[tuple[int, list[str]]]:
    """Data rows (with line numbers) of a shipped-style table: '#' comments, a header, CSV rows."""
    rows: list[tuple[int, list[str]]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        lines = [(n, line) for n, line in enumerate(handle, start=1) if line.strip()]
    body = [(n, line) for n, line in lines if not line.startswith("#")][1:]  # skip the header
    for number, line in body:
        row = next(csv.reader([line]))
        if len(row) < columns:
            raise TableError(f"{path}:{number}: expected {columns} columns, got {len(row)}")
        rows.append((number, [cell.strip() for cell in row]))
    return rows


def load_tariff(path: Path) -> tuple[dict[str, float], dict[str, str]]:
    rates: dict[str, float] = {}
    labels: dict[str, str] = {}
    for number, (prefix, rate, label, *_) in _rows(path, 3):
        if not (prefix.isdigit() or prefix.startswith(("type:", "default:"))):
            raise TableError(f"{path}:{number}: prefix {prefix!r} must be digits, type:X or default:X")
        try:
            value = float(rate)
        except ValueError:
            raise TableError(f"{path}:{number}: rate {rate!r} is not a number") from None
        if not 0 <= value < 1000:
            raise TableError(f"{path}:{number}: rate {value} out of range 0..1000 per minute")
        rates[prefix], labels[prefix] = value, label
    for needed in ("default:national", "default:international"):
        if needed not in rates:
            raise TableError(f"{path}: a {needed} row is required")
    return rates, labels


def load_risk(path: Path) -> dict[str, tuple[str, str]]:
    risks: dict[str, tuple[str, str]] = {}
    for number, (prefix, risk, label, *_) in _rows(path, 3):
        if not prefix.isdigit() or risk not in RISK_ORDER:
            raise TableError(
                f"{path}:{number}: need digits and one of {list(RISK_ORDER)}, got {prefix!r}, {risk!r}"
            )
        risks[prefix] = (risk, label)
    return risks


def _longest(table: dict[str, object], digits: str, lengths: tuple[int, ...]) -> str | None:
    """The longest prefix of `digits` in `table`; `lengths` are the table's prefix lengths, longest first."""
    size = len(digits)
    for length in lengths:
        if length <= size and digits[:length] in table:
            return digits[:length]
    return None


def _lengths(prefixes: Iterable[str]) -> tuple[int, ...]:
    return tuple(sorted({len(p) for p in prefixes if p.isdigit()}, reverse=True))


def _emergency_max_length(region: str) -> int:
    """The longest emergency number of `region` (exact match only), so longer numbers skip the check."""
    short = PhoneMetadata.short_metadata_for_region(region)
    lengths = short.emergency.possible_length if short and short.emergency else ()
    return max(lengths, default=1000)  # no metadata: always check


class Rater:
    def __init__(self, settings: FraudSettings) -> None:
        # phonenumbers compiles its metadata patterns through re.compile, whose cache holds 512: numbers
        # of many countries keep recompiling them. Its own cache keeps every one (bounded by the
        # metadata, same patterns, same results); ~12% of the time to rate a new number.
        enable_pattern_cache = getattr(phonenumbers, "enable_pattern_cache", None)  # not in every 9.x
        if enable_pattern_cache is not None:
            enable_pattern_cache()
        self.region = settings.home_region
        self.home_code = phonenumbers.country_code_for_region(self.region)
        self.strip_prefixes = tuple(sorted(settings.strip_prefixes, key=len, reverse=True))
        self.rates, self.labels = load_tariff(settings.tariff_path or DATA_DIR / "tariff.csv")
        self.risks = load_risk(settings.risk_path or DATA_DIR / "risk.csv")
        # Only digit prefixes take part in the longest match ("default:international" is not one),
        # and only lengths some prefix has are tried.
        self._rate_lengths = _lengths(self.rates)
        self._risk_lengths = _lengths(self.risks)
        self._emergency_len = _emergency_max_length(self.region)
        # The home region's international call prefix ("00", "011", ...): numbers phonenumbers cannot
        # parse are still international when dialled with it.
        idd = PhoneMetadata.metadata_for_region(self.region)
        self._idd = re.compile(idd.international_prefix if idd and idd.international_prefix else "00")
        # Ratings by dialled string; the per-CDR path reads it directly and calls `rate` on a miss.
        self.ratings: dict[str, Rating] = {}

    def rate(self, dialled: str) -> Rating:
        rating = self.ratings.get(dialled)
        if rating is None:
            if len(self.ratings) >= MAX_CACHE:
                self.ratings.clear()
            rating = self.ratings[dialled] = self._rate(dialled)
        return rating

    def cost(self, dialled: str, billsec: float) -> float:
        return self.rate(dialled).rate * billsec / 60.0

    def _rate(self, dialled: str) -> Rating:
        text = dialled.split("@")[0]
        if not text.isdigit():  # most PBXs log bare digits; else keep only the digits and "+"
            text = "".join(ch for ch in text if ch.isdigit() or ch == "+")
        for prefix in self.strip_prefixes:
            if text.startswith(prefix) and len(text) > INTERNAL_MAX_DIGITS + len(prefix):
                text = text[len(prefix) :]
                break
        if not text or text == "+":
            return Rating("", "", "invalid", "unknown", "medium", 0.0, "no digits")
        if len(text) <= self._emergency_len and is_emergency_number(text, self.region):
            return Rating("", self.region, "emergency", "emergency", "none", 0.0, "emergency")
        if len(text) <= INTERNAL_MAX_DIGITS and not text.startswith(("0", "+")):
            return Rating("", "", "internal", "internal", "none", 0.0, "extension")
        try:
            number = phonenumbers.parse(text, self.region)
        except NumberParseException:
            return self._unparsed(text)
        digits = f"{number.country_code}{number.national_number}"
        country = phonenumbers.region_code_for_number(number) or ""
        # number_type is UNKNOWN exactly when is_valid_number is False (both match the national
        # number against the same region's patterns), so one regex pass gives both: a miss costs
        # about half of what parse + number_type + is_valid_number cost.
        kind = phonenumbers.number_type(number)
        valid = kind != PhoneNumberType.UNKNOWN
        if number.country_code in SATELLITE_CODES:
            number_type, country = "satellite", "001"
        else:
            number_type = TYPE_NAMES.get(kind, "unknown")
        national = number.country_code == self.home_code
        if not valid:
            scope = "invalid"
            if not country:  # the country code still says where it goes: its main region
                main = phonenumbers.region_code_for_country_code(number.country_code or 0)
                country = "" if main == "ZZ" else main
        else:
            scope = "national" if national else "international"
        return self._price(digits, country, scope, number_type, national)

    def _unparsed(self, text: str) -> Rating:
        """A number phonenumbers refuses (unknown country code, too short): international when it
        starts with "+" or the international prefix, then its digits are kept for blocks and counts."""
        rate = self.rates["default:international"]
        if text.startswith("+"):
            digits = text[1:]
        else:
            idd = self._idd.match(text)
            if idd is None:
                return Rating("", "", "invalid", "unknown", "medium", rate)
            digits = text[idd.end() :]
        return Rating(digits.replace("+", ""), "", "invalid", "unknown", "medium", rate, "", True)

    def _price(self, digits: str, country: str, scope: str, number_type: str, national: bool) -> Rating:
        prefix = _longest(self.rates, digits, self._rate_lengths)  # type: ignore[arg-type]
        if national and (prefix is None or prefix == str(self.home_code)):
            rate = self.rates.get(f"type:{number_type}", self.rates["default:national"])
        elif prefix is None:
            rate = self.rates["default:international"]
        else:
            rate = self.rates[prefix]
        floor = self.rates.get(f"type:{number_type}")
        if number_type in ("premium_rate", "shared_cost", "satellite") and floor is not None:
            rate = max(rate, floor)
        risk_prefix = _longest(self.risks, digits, self._risk_lengths)  # type: ignore[arg-type]
        risk, label = self.risks[risk_prefix] if risk_prefix else ("none", "")
        if number_type in ("premium_rate", "satellite"):
            risk = "high"
        elif scope == "invalid" and RISK_ORDER[risk] < RISK_ORDER["medium"]:
            risk = "medium"
        elif scope == "international" and risk == "none":
            risk = "low"
        label = label or (self.labels.get(prefix, "") if prefix else "")
        return Rating(digits, country, scope, number_type, risk, rate, label, not national)
