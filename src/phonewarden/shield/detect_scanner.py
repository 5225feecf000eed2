"""Scanner fingerprints: known tool User-Agents and structural traits that survive a patched User-Agent.

The fingerprints live in data/fingerprints.toml, each with its source and date. A message is examined field
by field only when one Aho-Corasick pass over its lower-cased raw bytes finds a prefilter literal (or misses
a "!literal"): most benign traffic costs one C-speed scan. The loader refuses a file whose fingerprints
without a prefilter could add up to a scanner on their own, so the shortcut never hides one.

A message that passes the prefilter (sipp's `z9hG4bK-` branches do) is then scored field by field, stopping
as soon as the weights still possible cannot reach 1.0: a fingerprint whose literal the raw text lacks cannot
match when every field value is a plain substring of that text (see `_plain_substrings`), so it counts as
impossible there. The verdict is always the full `matches()` one; only the work to reach "no" is cut.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import ahocorasick

from phonewarden.shield.findings import Finding, Reporter, describe

# Found through the package, not __file__: this module may run compiled from .accel/ (phonewarden._accel).
FINGERPRINTS = Path(str(files("phonewarden.shield"))) / "data" / "fingerprints.toml"
MATCHES = ("contains", "regex", "equals", "hex_contains")
FIELDS = ("user_agent", "from_display", "from_host", "from_tag", "via_branch", "call_id", "body")
# Fields in the order the bounded check reads them: cheap reads and the ones that rule most out first.
_CHEAP_FIRST = ("via_branch", "user_agent", "call_id", "body", "from_display", "from_host", "from_tag")
_BOUNDS_CACHE_MAX = 256  # (literals found, plain) combinations remembered; hostile text must not grow it
_EPSILON = 1e-9  # float sums in another order may differ in the last bit: never rule out a score of 1.0
REQUIRED = ("id", "tool", "field", "match", "pattern", "weight", "source", "date")


class FingerprintError(ValueError):
    """A fingerprint file entry that cannot be used; names the file, the entry and the problem."""


@dataclass(frozen=True, slots=True)
class Fingerprint:
    id: str
    tool: str
    field: str
    match: str
    pattern: str
    weight: float
    source: str
    date: str
    prefilter: str | None = None

    @property
    def literal(self) -> str | None:
        """What a raw message must contain ("!x": must lack) to be worth examining for this fingerprint."""
        if self.prefilter is not None:
            return self.prefilter.lower()
        return self.pattern.lower() if self.match in ("contains", "equals") else None


def load_fingerprints(path: Path = FINGERPRINTS) -> list[Fingerprint]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FingerprintError(f"{path}: cannot read fingerprints: {exc}") from None
    entries = document.get("fingerprint", [])
    result = []
    for index, entry in enumerate(entries):
        where = f"{path}: fingerprint #{index + 1} ({entry.get('id', '?')})"
        missing = [key for key in REQUIRED if key not in entry]
        if missing:
            raise FingerprintError(f"{where}: missing {missing}")
        if entry["field"] not in FIELDS or entry["match"] not in MATCHES:
            raise FingerprintError(f"{where}: field must be one of {FIELDS}, match one of {MATCHES}")
        if entry["match"] == "regex":
            try:
                re.compile(entry["pattern"])
            except re.error as exc:
                raise FingerprintError(f"{where}: bad regex: {exc}") from None
        if not 0 < float(entry["weight"]) <= 1:
            raise FingerprintError(f"{where}: weight must be in (0, 1]")
        result.append(Fingerprint(**{key: entry[key] for key in REQUIRED}, prefilter=entry.get("prefilter")))
    if not result:
        raise FingerprintError(f"{path}: no [[fingerprint]] entries")
    unfiltered = [p for p in result if p.literal is None]
    if sum(p.weight for p in unfiltered) >= 1.0:
        names = [p.id for p in unfiltered]
        raise FingerprintError(f"{path}: fingerprints without prefilter {names} weigh 1.0 or more together")
    return result


def _plain_substrings(text: str) -> bool:
    """True when every field value a fingerprint reads is a substring of `text` (the raw message as
    lower-cased latin-1): ASCII (so UTF-8 and latin-1 decode alike and lower() agrees), no backslash (the
    parsers resolve quoted-pair escapes in display names and parameters) and no folded line (unfolding
    joins lines). The body is a substring of it always."""
    return text.isascii() and "\\" not in text and "\n " not in text and "\n\t" not in text


def _possible(fingerprint: Fingerprint, found: frozenset[str], plain: bool) -> bool:
    """Whether the fingerprint can match a message whose text holds the prefilter literals `found`."""
    literal = fingerprint.literal
    if literal is None or literal.startswith("!") or literal in found:
        return True
    return not (plain or fingerprint.field == "body")


def _check(fingerprint: Fingerprint, regex: re.Pattern[str] | None, value: str) -> bool:
    """A regex, equals or hex_contains fingerprint against a field's (non-empty) value."""
    if regex is not None:
        return regex.fullmatch(value) is not None
    if fingerprint.match == "equals":
        return value == fingerprint.pattern
    return fingerprint.pattern in _hex_text(value)


def _hex_text(value: str) -> str:
    try:
        return bytes.fromhex(value).decode("latin-1")
    except ValueError:
        return ""


class ScannerDetector:
    name = "scanner"

    def __init__(self, reporter: Reporter, fingerprints: list[Fingerprint] | None = None) -> None:
        self.reporter = reporter
        prints = fingerprints if fingerprints is not None else load_fingerprints()
        self.automata: dict[str, Any] = {}
        self.checks: list[tuple[Fingerprint, re.Pattern[str] | None]] = []
        self.prefilter = ahocorasick.Automaton()
        self.absent: list[str] = []
        for fingerprint in prints:
            literal = fingerprint.literal
            if literal is not None and literal.startswith("!"):
                self.absent.append(literal[1:])
            elif literal is not None:
                self.prefilter.add_word(literal, literal)
            if fingerprint.match == "contains":
                automaton = self.automata.setdefault(fingerprint.field, ahocorasick.Automaton())
                automaton.add_word(fingerprint.pattern.lower(), fingerprint)
            else:
                regex = re.compile(fingerprint.pattern) if fingerprint.match == "regex" else None
                self.checks.append((fingerprint, regex))
        for automaton in self.automata.values():
            automaton.make_automaton()
        self.prefilter.make_automaton()
        self.any_literal = len(self.prefilter) > 0  # an automaton without words cannot be searched
        # each literal once (fingerprints share some): _plan scans the text for every one of them
        present = [p.literal for p in prints if p.literal is not None and not p.literal.startswith("!")]
        self.literals = list(dict.fromkeys(present))
        self.by_field: dict[str, list[Fingerprint]] = {}
        for fingerprint in prints:
            self.by_field.setdefault(fingerprint.field, []).append(fingerprint)
        self.field_checks: dict[str, list[tuple[Fingerprint, re.Pattern[str] | None]]] = {}
        for fingerprint, regex in self.checks:
            self.field_checks.setdefault(fingerprint.field, []).append((fingerprint, regex))
        # (literals found, plain substrings) -> (weight still possible, [(field, its possible weight)])
        self._plans: dict[tuple[frozenset[str], bool], tuple[float, list[tuple[str, float]]]] = {}

    def worth_examining(self, raw: bytes, text: str | None = None) -> bool:
        """`text`: raw as lower-cased latin-1 text, if the caller has it already."""
        if text is None:
            text = raw.decode("latin-1").lower()
        if not all(map(text.__contains__, self.absent)):  # a "!literal" the text lacks
            return True
        return self.any_literal and next(self.prefilter.iter(text), None) is not None

    def matches(self, message: Any) -> list[Fingerprint]:
        """Every fingerprint the request matches."""
        found: dict[str, Fingerprint] = {}
        for field, automaton in self.automata.items():
            value = message.body.decode("latin-1") if field == "body" else getattr(message, field)
            if value:
                for _, fingerprint in automaton.iter(value.lower()):
                    found[fingerprint.id] = fingerprint
        for fingerprint, regex in self.checks:
            value = getattr(message, fingerprint.field)
            if value and _check(fingerprint, regex, value):
                found[fingerprint.id] = fingerprint
        return list(found.values())

    def may_reach_one(self, message: Any, text: str) -> bool:
        """False only if the request's score is surely below 1.0 (then `matches` would say so too).
        `text`: the raw bytes as lower-cased latin-1 text."""
        possible, plan = self._plan(text)
        score = 0.0
        for field, weight in plan:
            if score + possible < 1.0 - _EPSILON:
                return False
            score += sum(hit.weight for hit in self._field_hits(message, field))
            possible -= weight
        return score >= 1.0 - _EPSILON

    def _plan(self, text: str) -> tuple[float, list[tuple[str, float]]]:
        # str.__contains__ per literal: faster than running the automaton to the end of the text
        found = frozenset(filter(text.__contains__, self.literals))
        plain = _plain_substrings(text)
        plan = self._plans.get((found, plain))
        if plan is None:
            fields = []
            for field in _CHEAP_FIRST:
                prints = self.by_field.get(field, ())
                weight = sum(p.weight for p in prints if _possible(p, found, plain))
                if weight > 0:
                    fields.append((field, weight))
            plan = (sum(weight for _, weight in fields), fields)
            if len(self._plans) < _BOUNDS_CACHE_MAX:
                self._plans[(found, plain)] = plan
        return plan

    def _field_hits(self, message: Any, field: str) -> Iterable[Fingerprint]:
        value = message.body.decode("latin-1") if field == "body" else getattr(message, field)
        if not value:
            return ()
        found: dict[str, Fingerprint] = {}
        automaton = self.automata.get(field)
        if automaton is not None:
            found.update((fingerprint.id, fingerprint) for _, fingerprint in automaton.iter(value.lower()))
        for fingerprint, regex in self.field_checks.get(field, ()):
            if _check(fingerprint, regex, value):
                found[fingerprint.id] = fingerprint
        return found.values()

    def observe(self, key: str, message: Any, now: float, text: str | None = None) -> Finding | None:
        """`text`: the message's raw bytes as lower-cased latin-1 text, if the caller has it already."""
        if self.reporter.reported.contains(key, now):
            return None  # already reported as a scanner
        if text is None:
            text = message.raw.decode("latin-1").lower()
        if not self.worth_examining(message.raw, text):
            return None  # nothing a scanner could be recognised by
        if not self.may_reach_one(message, text):
            return None  # e.g. sipp: its branch passes the prefilter, but no fingerprint can add up to 1.0
        hits = self.matches(message)
        score = sum(hit.weight for hit in hits)
        if score < 1.0:
            return None
        self.reporter.sample(key, describe(message))
        tools = sorted({hit.tool for hit in hits})
        return self.reporter.report(
            key,
            now,
            f"scanner fingerprint ({', '.join(tools)})",
            "high",
            fingerprints=sorted(hit.id for hit in hits),
            score=round(score, 2),
        )
