"""Sample shield data for `phonewarden demo`: bans with the findings that led to them, evidence included.

Addresses come from the documentation ranges (RFC 5737); the evidence lines have the shape the detectors
write (method, request URI, User-Agent), so the bans page shows what an operator would see after an attack.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import Engine

from phonewarden.shield.bans import BanStore
from phonewarden.store.engine import session_factory
from phonewarden.store.findings import add_finding
from phonewarden.store.models import Guard, Severity

BANS = 12
# (detector, ban reason, severity, evidence line template)
ATTACKS = [
    ("scanner", "scanner:sipvicious", Severity.HIGH, "OPTIONS sip:100@{server} ua=friendly-scanner"),
    ("bruteforce", "bruteforce:register", Severity.HIGH, "REGISTER sip:{user}@{server} -> 401 then 403"),
    ("enumeration", "enumeration:invite", Severity.MEDIUM, "INVITE sip:{user}@{server} -> 404"),
    ("flood", "flood:invite", Severity.MEDIUM, "INVITE sip:{user}@{server} 212 req/10 s"),
    ("toll_fraud", "tollfraud:international", Severity.CRITICAL, "INVITE sip:00972{user}@{server} no auth"),
]


def load(engine: Engine, rng: random.Random, now: datetime) -> str:
    store = BanStore(engine)
    findings = 0
    with session_factory(engine).begin() as session:
        for index in range(BANS):
            source = f"203.0.113.{index + 10}"
            detector, reason, severity, template = rng.choice(ATTACKS)
            for step in range(rng.randint(2, 4)):
                samples = [
                    template.format(user=rng.randint(100, 999), server="sip.example.net") for _ in range(3)
                ]
                add_finding(
                    session, time=now - timedelta(minutes=rng.randint(1, 600) + step), guard=Guard.SHIELD,
                    kind=detector, subject=source, severity=severity, reason=f"{reason} from {source}",
                    evidence={"samples": samples},
                )  # fmt: skip
                findings += 1
    for index in range(BANS):
        reasons = [rng.choice(ATTACKS)[1]]
        store.save_ban(f"203.0.113.{index + 10}", 3600 * rng.randint(1, 24), reasons, rng.randint(1, 4))
    return f"{BANS} bans, {findings} findings with evidence"
