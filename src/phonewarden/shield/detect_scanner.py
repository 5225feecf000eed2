"""Scanner fingerprints: known tool User-Agents and structural traits that survive a patched User-Agent.

The fingerprints live in data/fingerprints.toml, each with its source and date. A message is examined field
by field only when one Aho-Corasick pass over its lower-cased raw bytes finds a prefilter literal (or misses
a "!literal"): most benign traffic costs one C-speed scan. The loader refuses a file whose fingerprints
without a prefilter could add up to a scanner on their own, so the shortcut never hides one.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick

from phonewarden.shield.findings import Finding, Reporter, describe

FINGERPRINTS = Path(__file__).parent / "data" / "fingerprints.toml"
MATCHES = ("contains", "regex", "equals", "hex_contains")
FIELDS = ("user_agent", "from_display", "from_host", "from_tag", "via_branch", "call_id", "body")
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

    def worth_examining(self, raw: bytes, text: str | None = None) -> bool:
        """`text`: raw as lower-cased latin-1 text, if the caller has it already."""
        if text is None:
            text = raw.decode("latin-1").lower()
        if any(literal not in text for literal in self.absent):
            return True
        return next(self.prefilter.iter(text), None) is not None

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
            if not value:
                continue
            if regex is not None:
                hit = regex.fullmatch(value) is not None
            elif fingerprint.match == "equals":
                hit = value == fingerprint.pattern
            else:
                hit = fingerprint.pattern in _hex_text(value)
            if hit:
                found[fingerprint.id] = fingerprint
        return list(found.values())

    def observe(self, key: str, message: Any, now: float, text: str | None = None) -> Finding | None:
        """`text`: the message's raw bytes as lower-cased latin-1 text, if the caller has it already."""
        if self.reporter.reported.contains(key, now) or not self.worth_examining(message.raw, text):
            return None  # already reported as a scanner, or nothing a scanner could be recognised by
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
