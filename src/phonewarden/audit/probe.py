"""The network probe: only the addresses the operator names, bounded in concurrency, rate and time.

Per host: SIP OPTIONS over UDP/TCP/TLS, TCP connect to the management ports, one TFTP read request,
TLS certificate facts on 443/5061, then (when a web UI answers) one lockout-aware default login and,
when asked, a ghost-call INVITE. A host where nothing answers yields no checks.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from phonewarden.audit import probe_net, probe_sip, probe_web
from phonewarden.audit.fingerprint import Fingerprint, from_header, vendor_from_to_tag
from phonewarden.audit.http_client import request
from phonewarden.audit.settings import AuditSettings


class TargetError(ValueError):
    """A target that is not an address or network, or a run larger than allowed."""


def expand_targets(targets: list[str], max_hosts: int) -> list[str]:
    """Addresses in the order named, each once; CIDRs expand to their hosts."""
    seen: dict[str, None] = {}
    for target in targets:
        try:
            network = ipaddress.ip_network(target.strip(), strict=False)
        except ValueError:
            raise TargetError(
                f"target {target!r} is not an IP address or CIDR network (e.g. 198.51.100.0/24)"
            ) from None
        if network.num_addresses > max_hosts * 4:
            raise TargetError(
                f"target {target} has {network.num_addresses} addresses; the limit is {max_hosts}"
            )
        hosts = [network.network_address] if network.num_addresses == 1 else list(network.hosts())
        for host in hosts:
            seen[str(host)] = None
            if len(seen) > max_hosts:
                raise TargetError(f"targets name more than {max_hosts} hosts (audit.max_hosts)")
    return list(seen)


class RateLimiter:
    """Spaces out new connections/datagrams to at most `rate` per second across all tasks."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_slot = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            now = asyncio.get_running_loop().time()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass
class HostFacts:
    host: str
    time: float
    sip: list[probe_sip.SipAnswer] = field(default_factory=list)
    ports: dict[int, bool] = field(default_factory=dict)
    tftp: bool = False
    tls: list[probe_net.TlsFacts] = field(default_factory=list)
    http_redirects_to_https: bool | None = None
    fingerprint: Fingerprint = field(default_factory=Fingerprint)
    login: probe_web.LoginResult | None = None
    ghost: probe_sip.SipAnswer | None = None
    ghost_tried: bool = False

    @property
    def alive(self) -> bool:
        return bool(self.sip) or any(self.ports.values()) or self.tftp


async def probe_host(
    host: str, settings: AuditSettings, limiter: RateLimiter, ledger: probe_web.LoginLedger
) -> HostFacts:
    timeout = settings.timeout_seconds
    facts = HostFacts(host, time.time())

    async def limited(factory: Callable[[], Awaitable[Any]]) -> Any:
        await limiter.wait()
        return await factory()

    sip_port, sips_port = settings.sip_port, settings.sips_port
    jobs = [
        limited(lambda: probe_sip.options_udp(host, sip_port, timeout)),
        limited(lambda: probe_sip.options_stream(host, sip_port, timeout, use_tls=False)),
        limited(lambda: probe_sip.options_stream(host, sips_port, timeout, use_tls=True)),
        limited(lambda: probe_net.tftp_open(host, timeout)),
        *(
            limited(functools.partial(probe_net.tcp_open, host, port, timeout))
            for port in probe_net.MANAGEMENT_PORTS
        ),
    ]
    udp, tcp, tls, tftp, *open_ports = await asyncio.gather(*jobs)
    facts.sip = [answer for answer in (udp, tcp, tls) if answer is not None]
    facts.tftp = bool(tftp)
    facts.ports = dict(zip(probe_net.MANAGEMENT_PORTS, (bool(p) for p in open_ports), strict=True))
    if not facts.alive:
        return facts
    facts.fingerprint = _fingerprint(facts.sip)
    tls_jobs = [
        limited(functools.partial(probe_net.tls_facts, host, port, timeout))
        for port, is_open in ((443, facts.ports[443]), (sips_port, tls is not None))
        if is_open
    ]
    facts.tls = [t for t in await asyncio.gather(*tls_jobs) if t is not None]
    await _web(facts, settings, limiter, ledger)
    if settings.ghost_call and udp is not None:
        await limiter.wait()
        facts.ghost_tried = True
        facts.ghost = await probe_sip.ghost_invite(host, sip_port, timeout)
    return facts


async def _web(
    facts: HostFacts, settings: AuditSettings, limiter: RateLimiter, ledger: probe_web.LoginLedger
) -> None:
    timeout = settings.timeout_seconds
    port, use_tls = (80, False) if facts.ports[80] else (443, True) if facts.ports[443] else (0, False)
    if not port:
        return
    await limiter.wait()
    landing = await request(facts.host, port, "GET", "/", use_tls=use_tls, timeout=timeout)
    if facts.ports[80] and landing is not None:
        location = landing.headers.get("location", "")
        facts.http_redirects_to_https = landing.status in (301, 302, 303, 307, 308) and location.startswith(
            "https:"
        )
    vendor = facts.fingerprint.vendor or probe_web.vendor_from_page(landing)
    if facts.fingerprint.vendor is None and vendor is not None:
        facts.fingerprint = Fingerprint(vendor, None, None, "web page")
    if settings.login_check and landing is not None:
        if facts.http_redirects_to_https and facts.ports[443]:
            port, use_tls = 443, True
        await limiter.wait()
        facts.login = await probe_web.check_default_login(facts.host, port, use_tls, vendor, ledger, timeout)


def _fingerprint(answers: list[probe_sip.SipAnswer]) -> Fingerprint:
    for answer in answers:
        for header in (answer.user_agent, answer.server):
            found = from_header(header)
            if found.vendor is not None:
                return found
    hint = next((vendor_from_to_tag(a.to_tag) for a in answers if vendor_from_to_tag(a.to_tag)), None)
    return Fingerprint(hint, None, None, "to-tag") if hint else Fingerprint()


async def probe_all(
    targets: list[str], settings: AuditSettings, ledger: probe_web.LoginLedger
) -> list[HostFacts]:
    hosts = expand_targets(targets, settings.max_hosts)
    limiter = RateLimiter(settings.rate_per_second)
    gate = asyncio.Semaphore(settings.concurrency)

    async def one(host: str) -> HostFacts:
        async with gate:
            return await probe_host(host, settings, limiter, ledger)

    return list(await asyncio.gather(*(one(host) for host in hosts)))
