"""The gate in front of every config fetch: pure, given the request facts, the device and its site's rules.

Order (shared/reference/audit-and-provisioning.md §13): ban -> path -> source network -> enrolled device
-> client certificate bound to the URL MAC -> User-Agent names vendor/model (and MAC) -> digest ->
wipe after retire/reassign -> window -> fetch count -> consent. The first failing rule is the reason.
Every denial is answered the same way by the server, so "unknown MAC" and "window closed" look alike.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from phonewarden.audit.policy import Vendor
from phonewarden.provisioning.identify import Kind, Requested, parse_agent, same_model


class Reason(StrEnum):
    SERVED = "served"
    SERVED_COMMON = "served-common"
    SERVED_WIPE = "served-wipe"
    BANNED = "banned"
    UNKNOWN_PATH = "unknown-path"
    NETWORK = "network-not-allowed"
    UNKNOWN_MAC = "unknown-mac"
    VENDOR = "vendor-mismatch"
    NO_CERT = "client-cert-missing"
    CERT_MAC = "client-cert-mac-mismatch"
    USER_AGENT = "user-agent-mismatch"
    USER_AGENT_MAC = "user-agent-mac-mismatch"
    DIGEST_MISSING = "digest-required"
    DIGEST_BAD = "digest-failed"
    RETIRED = "retired"
    WINDOW_NOT_OPEN = "window-not-open"
    WINDOW_CLOSED = "window-closed"
    FETCH_LIMIT = "fetch-limit"
    CONSENT = "consent-pending"


@dataclass(frozen=True, slots=True)
class Rules:
    networks: tuple[str, ...] = ()
    max_fetches: int = 3
    require_user_agent: bool = True
    require_client_cert: bool = False
    require_digest: bool = False
    require_consent: bool = False


@dataclass(frozen=True, slots=True)
class Device:
    mac: str
    vendor: Vendor
    model: str
    state: str  # active | retired
    window_from: float | None
    window_until: float | None
    fetches: int
    wipe_pending: bool
    config_version: int
    approved_version: int
    rules: Rules


@dataclass(frozen=True, slots=True)
class Facts:
    source: str
    requested: Requested
    user_agent: str
    cert_mac: str | None  # MAC bound in a client certificate that chained to the device CA
    digest: Literal["ok", "missing", "bad"]
    banned: bool
    now: float


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    reason: Reason
    mac: str | None
    detail: str = ""

    @property
    def counts_as_probe(self) -> bool:
        """Denials that an enumerating client causes (not: banned, which is already handled)."""
        return not self.allowed and self.reason is not Reason.BANNED


def in_networks(source: str, networks: tuple[str, ...]) -> bool:
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(net) for net in networks)


def decide(facts: Facts, device: Device | None, defaults: Rules) -> Verdict:
    req = facts.requested
    mac = req.mac or facts.cert_mac

    def deny(reason: Reason, detail: str = "") -> Verdict:
        return Verdict(False, reason, mac, detail)

    if facts.banned:
        return deny(Reason.BANNED)
    if req.kind is Kind.UNKNOWN:
        return deny(Reason.UNKNOWN_PATH)
    rules = device.rules if device is not None else defaults
    if not in_networks(facts.source, rules.networks):
        return deny(Reason.NETWORK, f"{facts.source} not in {', '.join(rules.networks)}")
    if req.kind is Kind.COMMON:
        return Verdict(True, Reason.SERVED_COMMON, None)
    if device is None:
        return deny(Reason.UNKNOWN_MAC)
    if req.vendor is not None and req.vendor is not device.vendor:
        return deny(Reason.VENDOR, f"{req.vendor.value} file form for a {device.vendor.value} device")
    if rules.require_client_cert or facts.cert_mac is not None:
        if facts.cert_mac is None:
            return deny(Reason.NO_CERT)
        if facts.cert_mac != device.mac:
            return deny(Reason.CERT_MAC, f"certificate names {facts.cert_mac}")
    if rules.require_user_agent:
        verdict = _check_agent(facts.user_agent, device)
        if verdict is not None:
            return deny(*verdict)
    if rules.require_digest and facts.digest != "ok":
        return deny(Reason.DIGEST_MISSING if facts.digest == "missing" else Reason.DIGEST_BAD)
    if device.wipe_pending:
        return Verdict(True, Reason.SERVED_WIPE, mac)
    if device.state != "active":
        return deny(Reason.RETIRED)
    if device.window_from is None or facts.now < device.window_from:
        return deny(Reason.WINDOW_NOT_OPEN)
    if device.window_until is None or facts.now >= device.window_until:
        return deny(Reason.WINDOW_CLOSED)
    if device.fetches >= rules.max_fetches:
        return deny(Reason.FETCH_LIMIT, f"{device.fetches} of {rules.max_fetches} fetches used")
    if rules.require_consent and device.config_version > device.approved_version:
        return deny(Reason.CONSENT, f"version {device.config_version} awaits approval")
    return Verdict(True, Reason.SERVED, mac)


def _check_agent(user_agent: str, device: Device) -> tuple[Reason, str] | None:
    agent = parse_agent(user_agent)
    if agent is None:
        return Reason.USER_AGENT, f"not a {device.vendor.value} provisioning User-Agent: {user_agent[:120]!r}"
    if agent.vendor is not device.vendor or not same_model(agent.model, device.model):
        return Reason.USER_AGENT, f"claims {agent.vendor.value} {agent.model}, enrolled {device.model}"
    if agent.mac is not None and agent.mac != device.mac:
        return Reason.USER_AGENT_MAC, f"User-Agent names {agent.mac}"
    return None
