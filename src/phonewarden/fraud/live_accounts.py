"""Live calls -> billing accounts: the configured `[[fraud.live_accounts]]` rules, else the From user.

The From user is what a registered phone sends, but a trunk from a customer's PBX sends the caller's
number there, and an SBC may put the customer in P-Asserted-Identity or its own header. Rules match
the sender's address (a trunk's network) and/or the From domain, and take the account as a fixed
name, from a header, or from a parsed SIP field. Per INVITE only, so the cost is one rule scan.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from phonewarden.fraud.settings import LiveAccountRule
from phonewarden.wire.sip_values import parse_name_addr

MAX_ACCOUNT_LENGTH = 255


def header_account(value: str) -> str:
    """The user part of a SIP/tel URI (`"Acme" <sip:+4930123@pbx>` -> `+4930123`), else the value."""
    user = parse_name_addr(value).uri.user
    return (user or value).strip()[:MAX_ACCOUNT_LENGTH]


class LiveAccounts:
    def __init__(self, rules: list[LiveAccountRule]) -> None:
        self.rules = rules

    def _matches(self, rule: LiveAccountRule, message: Any, source_ip: str) -> bool:
        if rule.source is not None:
            try:
                if ipaddress.ip_address(source_ip) not in rule.source:
                    return False
            except ValueError:  # no or unparsable source address: a network rule cannot hold
                return False
        return rule.from_host is None or (message.from_host or "").lower() == rule.from_host

    def account(self, message: Any, source_ip: str) -> str:
        """The account of an INVITE `message` (a wire SipMessage) sent from `source_ip`."""
        for rule in self.rules:
            if not self._matches(rule, message, source_ip):
                continue
            if rule.account is not None:
                return rule.account
            if rule.header is not None:
                value = message.header(rule.header)
                found = header_account(value) if value else ""
            else:
                found = getattr(message, rule.field or "from_user", None) or ""
            if found:
                return found
        return message.from_user or ""
