"""Which name a device meant when it talked to an address: DNS answers it saw earlier, TLS SNI, HTTP Host.

DNS answers are remembered per (device, address) for their TTL (at least MIN_TTL: devices keep using an
address after its TTL), bounded by core.windows.TtlMap so a flood of answers cannot grow memory.
"""

from __future__ import annotations

from phonewarden.core.windows import TtlMap
from phonewarden.wire.dns import DnsMessage

MIN_TTL = 3600.0
MAX_TTL = 86400.0
# Resolvers that carry DNS inside TLS/HTTPS: traffic to them hides which names were looked up.
# Source: the public DoH/DoT endpoints listed by curl's DoH wiki page and the resolvers' own docs; 2026-11.
DOH_HOSTS = frozenset({
    "dns.google", "dns.google.com", "cloudflare-dns.com", "one.one.one.one", "mozilla.cloudflare-dns.com",
    "dns.quad9.net", "dns9.quad9.net", "doh.opendns.com", "dns.adguard.com", "dns.adguard-dns.com",
    "dns.nextdns.io", "doh.cleanbrowsing.org", "dns.mullvad.net", "doh.dns.sb", "dns.alidns.com",
    "doh.pub", "dns.twnic.tw",
})  # fmt: skip


class HostNames:
    def __init__(self, max_keys: int = 65536) -> None:
        self._answers: TtlMap[tuple[str, str], str] = TtlMap(ttl=MAX_TTL, max_keys=max_keys)
        self._ttl: dict[tuple[str, str], float] = {}
        self._logged: dict[tuple[str, str], str] = {}

    def learn_dns(self, device: str, message: DnsMessage, now: float) -> None:
        """Remember the A/AAAA (and CNAME-chained) answers of a response the device received."""
        if not message.is_response or not message.questions:
            return
        asked = message.questions[0].name.lower()
        for answer in message.answers:
            if answer.rtype in (1, 28):  # A, AAAA
                key = (device, answer.data)
                self._answers.set(key, asked, now)
                if len(self._ttl) > 2 * self._answers.max_keys:
                    self._ttl.clear()
                self._ttl[key] = now + min(max(float(answer.ttl), MIN_TTL), MAX_TTL)

    def learn_logged(self, device: str, address: str, name: str) -> None:
        """A name from a resolver's log: used when the capture saw no answer; bounded, the last one wins."""
        if len(self._logged) < self._answers.max_keys or (device, address) in self._logged:
            self._logged[(device, address)] = name

    def lookup(self, device: str, address: str, now: float) -> str | None:
        key = (device, address)
        name = self._answers.get(key, now)
        if name is None or self._ttl.get(key, now + 1) < now:
            return self._logged.get(key)
        return name

    @property
    def evictions(self) -> int:
        return self._answers.evictions
