"""Shield findings from the store, for the attack chain: failed registrations or a new source on an
account raise the severity of that account's next fraud alerts (in event time).

The shield keys its findings by source address; what it learned about the user is in the evidence
("authentication succeeded for '1001' after 12 failures" carries `user`). Each finding is linked to
every subject the fraud guard can meet in a CDR or a live call: the address, the evidence's user(s),
and the accounts that `[[fraud.live_accounts]]` rules with a fixed `account` give that address.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from ipaddress import ip_network
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from phonewarden.fraud.settings import LiveAccountRule
from phonewarden.store.models import Finding, Guard

MAX_FINDINGS = 100_000
MAX_USERS = 16  # users named by one finding's evidence that are linked to it


class ShieldFinding:
    __slots__ = ("reason", "subject", "time")

    def __init__(self, time: float, subject: str, reason: str) -> None:
        self.time, self.subject, self.reason = time, subject, reason


def evidence_users(evidence: Any) -> list[str]:
    """The SIP users a finding's evidence names (`user`, or a list in `users`)."""
    if not isinstance(evidence, dict):
        return []
    named = evidence.get("user")
    listed = evidence.get("users")
    users = [named] if isinstance(named, str) else []
    if isinstance(listed, list):
        users += [user for user in listed if isinstance(user, str)]
    return [user for user in dict.fromkeys(users) if user][:MAX_USERS]


def rule_accounts(subject: str, rules: Iterable[LiveAccountRule]) -> list[str]:
    """Accounts that rules with a fixed account give calls from `subject` (an address or /64 network)."""
    try:
        address = ip_network(subject, strict=False).network_address
    except ValueError:
        return []  # a user or account, not an address
    accounts = [r.account for r in rules if r.account and r.source is not None and address in r.source]
    return list(dict.fromkeys(accounts))


def linked(
    time: float, subject: str, reason: str, evidence: Any, rules: Iterable[LiveAccountRule] = ()
) -> list[ShieldFinding]:
    """One finding for its subject, and one for each user and account it is linked to."""
    found = [ShieldFinding(time, subject, reason)]
    for other in [*evidence_users(evidence), *rule_accounts(subject, rules)]:
        if other != subject:
            found.append(ShieldFinding(time, other, f"{reason} (from {subject})"))
    return found


def shield_findings(
    db: Engine, since: datetime | None = None, rules: Iterable[LiveAccountRule] = ()
) -> Iterator[ShieldFinding]:
    """The shield's findings oldest first, each with its linked users and accounts (see `linked`);
    none if the store is not migrated."""
    query = select(Finding).where(Finding.guard == Guard.SHIELD).order_by(Finding.time).limit(MAX_FINDINGS)
    if since is not None:
        query = query.where(Finding.time >= since)
    try:
        with Session(db) as session:
            rows = [
                (r.time.timestamp(), r.subject, f"{r.kind}: {r.reason}", r.evidence)
                for r in session.scalars(query)
            ]
    except SQLAlchemyError:
        return
    rules = list(rules)
    for time, subject, reason, evidence in rows:
        yield from linked(time, subject, reason, evidence, rules)
