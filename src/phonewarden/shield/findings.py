"""What detectors report, how sources are keyed, and the throttle that keeps one finding per attack.

A detector reports a source once per window: a flood of 10,000 REGISTERs is one finding with its count and
a few evidence samples, not 10,000 findings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from phonewarden.core.records import iso_time
from phonewarden.core.windows import KeyedSamples, TtlMap

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
IPV6_KEY_PREFIX = 64  # one IPv6 site gets a /64; an attacker rotating inside it is still one source


@lru_cache(maxsize=65536)
def source_key(address: str) -> str:
    """The key a source is counted and banned by: the IPv4 address, or the IPv6 /64 network."""
    if ":" not in address:
        return address  # the decoders write IPv4 addresses in canonical dotted form already
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_KEY_PREFIX}", strict=False))
    return str(ip)


@dataclass(slots=True)
class Finding:
    detector: str
    source: str  # a source key (see source_key)
    time: float  # event time
    reason: str
    severity: Severity
    evidence: dict[str, Any] = field(default_factory=dict)

    type = "finding"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "finding",
            "time": iso_time(self.time),
            "detector": self.detector,
            "source": self.source,
            "reason": self.reason,
            "severity": self.severity,
            "evidence": self.evidence,
        }


class Reporter:
    """Per detector: evidence samples per source and "already reported within `window`" memory."""

    def __init__(self, detector: str, window: float, max_keys: int, samples: int) -> None:
        self.detector = detector
        self.samples: KeyedSamples[str, str] = KeyedSamples(max_keys, samples)
        self.reported: TtlMap[str, bool] = TtlMap(window, max_keys)

    def sample(self, key: str, text: str | Callable[[], str]) -> None:
        """Offer evidence; a callable is only called when the sample is kept (building text costs)."""
        if callable(text):
            self.samples.offer(key, text)
        else:
            self.samples.add(key, text)

    def report(
        self, key: str, now: float, reason: str, severity: Severity, **evidence: Any
    ) -> Finding | None:
        """A finding for `key` unless one was reported within the window."""
        if self.reported.contains(key, now):
            return None
        self.reported.set(key, True, now)
        evidence["samples"] = list(self.samples.pop(key))
        return Finding(self.detector, key, now, reason, severity, evidence)

    def sizes(self) -> dict[str, int]:
        return {"samples": len(self.samples), "reported": len(self.reported)}


def describe(message: Any) -> str:
    """One short line of evidence for a SIP message."""
    if message.is_request:
        text = f"{message.method} {message.request_uri}"
    else:
        text = f"{message.status} {message.reason or ''} ({message.method})"
    agent = message.user_agent
    return f"{text} ua={agent}"[:200] if agent else text[:200]
