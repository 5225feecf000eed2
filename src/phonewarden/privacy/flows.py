"""Flow directions, who owns them and where they go: the bookkeeping behind the engine's hot path.

A `Flow` is one direction of one connection. `FlowTable` decides which inventory device a direction
belongs to (by IP, by MAC learnt from the frames, or every private address when there is no inventory),
and gives each (device, transport, remote address, port) one `Destination` that collects its counts. An
address shared by several names (a CDN) keeps them all on its destination: each connection adds the name
its device last resolved for the address, and the engine adds SNI and HTTP Host names.
"""

from __future__ import annotations

from collections import Counter

from phonewarden.privacy.findings import Destination
from phonewarden.privacy.geo import GeoLookup
from phonewarden.privacy.inventory import Device
from phonewarden.privacy.names import HostNames
from phonewarden.wire.traffic import DNS_PORTS

FlowKey = tuple[str, int, str, int]  # src, sport, dst, dport
SKIP_PORTS = frozenset({67, 68, 546, 547})  # DHCP carries the MAC to the local server by design
_UNNAMED: FlowKey = ("", 0, "", 0)  # a counted-only direction the kernel never sees needs no text key


class Flow:
    """One direction of one connection, as the privacy monitor sees it."""

    __slots__ = ("bulk", "dest", "kernel", "key", "mark", "next_seq", "outbound", "scanned", "since", "tail")

    def __init__(self, dest: Destination, outbound: bool, key: FlowKey) -> None:
        self.dest = dest
        self.outbound = outbound
        self.key = key
        self.bulk = False  # only count bytes from now on
        self.tail = b""  # end of the previous segment, so a pattern split across segments is found
        self.scanned = 0  # plaintext bytes seen so far
        self.mark = 0  # `scanned` when the current clear-text budget began (a new message, a new window)
        self.since = 0.0  # event time the current budget began
        self.next_seq = -1  # TCP: the sequence number of the next in-order byte (-1: not known yet)
        self.kernel = False  # TCP: out of order once, so the kernel's reassembler orders it from now on

    def count(self, time: float, size: int) -> None:
        dest = self.dest
        if self.outbound:
            dest.bytes_out += size
            dest.packets_out += 1
        else:
            dest.bytes_in += size
            dest.packets_in += 1
        dest.last_seen = time


class FlowTable:
    def __init__(self, devices: list[Device], geo: GeoLookup, max_flows: int) -> None:
        self.by_ip = {ip: d.name for d in devices for ip in d.ips}
        self.by_mac = {bytes.fromhex(m.replace(":", "")): d.name for d in devices for m in d.macs}
        self.auto = not devices  # no inventory: every private address is a device of its own
        self.geo = geo
        self.names = HostNames()
        self.max_flows = max_flows
        self.destinations: dict[tuple[str, str, str, int], Destination] = {}
        self.flows: dict[FlowKey, Flow] = {}
        self.stats: Counter[str] = Counter()
        # Traffic of no device: counted on one shared direction that is never decoded.
        self.nobody = Flow(Destination("", "", "", 0, 0.0, 0.0), True, _UNNAMED)
        self.nobody.bulk = True

    def new_flow(self, transport: str, key: FlowKey, time: float, src_mac: bytes, dst_mac: bytes) -> Flow:
        src, sport, dst, dport = key
        outbound = True
        device = self.device(src, src_mac)
        if device is None:
            outbound = False
            device = self.device(dst, dst_mac)
        if device is None:
            self.remember(key, self.nobody)
            return self.nobody
        remote, port = (dst, dport) if outbound else (src, sport)
        flow = Flow(self.destination(device, transport, remote, port, time), outbound, key)
        if not outbound and not (transport == "udp" or sport in DNS_PORTS):
            flow.bulk = True  # a server's TCP answer: counted, not decoded
        if transport == "udp" and port == 443:
            flow.dest.protocol, flow.dest.opaque, flow.bulk = "quic", "quic", True
        elif port == 853:
            flow.dest.protocol, flow.dest.opaque, flow.bulk = "dot", "dot", True
        elif sport in SKIP_PORTS or dport in SKIP_PORTS:
            flow.bulk = True
        self.remember(key, flow)
        return flow

    def answer(self, forward: Flow) -> Flow:
        """The server's TCP direction of a connection a device opened: counted, never decoded."""
        flow = Flow(forward.dest, False, _UNNAMED)
        flow.bulk = True
        return flow

    def remember(self, key: FlowKey, flow: Flow) -> None:
        if len(self.flows) >= self.max_flows:
            del self.flows[next(iter(self.flows))]
            self.stats["flow_evictions"] += 1
        self.flows[key] = flow

    def forget(self, key: FlowKey) -> None:
        """A direction ended: late ACKs and retransmissions are only counted; a new SYN starts afresh."""
        done = self.flows.pop(key, None)
        if done is not None:
            done.bulk = True

    def device(self, address: str, frame_mac: bytes) -> str | None:
        device = self.by_ip.get(address)
        if device is None and frame_mac in self.by_mac:
            device = self.by_ip[address] = self.by_mac[frame_mac]  # learnt: this MAC uses this address
        if device is None and self.auto and self.geo.place(address).scope in ("private", "link-local"):
            device = address
        return device

    def destination(self, device: str, transport: str, remote: str, port: int, time: float) -> Destination:
        key = (device, transport, remote, port)
        dest = self.destinations.get(key)
        if dest is None:
            place = self.geo.place(remote)
            dest = Destination(device, transport, remote, port, time, time)
            dest.country, dest.org, dest.uncertain, dest.scope = (
                place.country, place.org, place.uncertain, place.scope)  # fmt: skip
            self.destinations[key] = dest
        name = self.names.lookup(device, remote, time)
        if name and name not in dest.hosts:  # each connection: the name resolved last for this address
            dest.add_name(name, "dns")
        return dest
