"""Toll-fraud probes: unauthenticated INVITEs to international or premium-rate numbers.

Attackers test which dial-out prefix a PBX accepts by sending INVITEs such as `00972...`, `9011972...` or
`+44 9...` without credentials. A phone's first INVITE also lacks credentials (it gets a 407), so the
detector counts distinct such numbers per source; a registered phone is trusted by the policy anyway.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType

from phonewarden.core.windows import DistinctCounter
from phonewarden.shield.findings import Finding, Reporter, describe

_DIGITS = re.compile(r"\+?[0-9]{7,20}")
_INTERNATIONAL = ("00", "011")  # ITU and NANP international prefixes
_MAX_DIALOUT_PREFIX = 4  # attackers put up to four digits (trunk codes like 9, 0, 81) before them
_PREMIUM = frozenset({PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST})


@lru_cache(maxsize=8192)
def classify_number(user: str, home_region: str) -> str | None:
    """'international:<region>', 'premium:<region>' or None for a dialled string."""
    if not _DIGITS.fullmatch(user):
        return None
    candidates = [user] if user.startswith("+") else []
    for skip in range(_MAX_DIALOUT_PREFIX + 1):
        rest = user[skip:]
        for prefix in _INTERNATIONAL:
            if rest.startswith(prefix) and len(rest) - len(prefix) >= 7:
                candidates.append("+" + rest[len(prefix) :])
    candidates.append(user.lstrip("+"))
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, None if candidate.startswith("+") else home_region)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(number):
            continue
        region = phonenumbers.region_code_for_number(number) or "??"
        if phonenumbers.number_type(number) in _PREMIUM:
            return f"premium:{region}"
        if candidate.startswith("+") and region != home_region:
            return f"international:{region}"
    return None


class TollFraudDetector:
    name = "toll-fraud"

    def __init__(
        self, reporter: Reporter, limit: int, window: float, max_keys: int, home_region: str
    ) -> None:
        self.reporter = reporter
        self.limit = limit
        self.home_region = home_region
        self.numbers: DistinctCounter[str, str] = DistinctCounter(window, max_keys, limit)

    def observe(self, key: str, message: Any, now: float) -> Finding | None:
        if message.method != "INVITE" or message.auth_username is not None:
            return None
        user = message.ruri_user
        if not user or message.to_tag:
            return None  # re-INVITEs inside a dialog are not probes
        kind = classify_number(user, self.home_region)
        if kind is None:
            return None
        distinct = self.numbers.add(key, user, now)
        self.reporter.sample(key, f"{kind} {describe(message)}")
        if distinct < self.limit:
            return None
        return self.reporter.report(
            key,
            now,
            f"{distinct} unauthenticated INVITEs to international/premium numbers within "
            f"{self.numbers.window:g} s",
            "high",
            distinct_numbers=distinct,
            last_kind=kind,
        )
