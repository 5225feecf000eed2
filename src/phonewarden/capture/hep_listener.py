"""HEP v2/v3 listener over UDP and TCP (default 127.0.0.1:9060), like a HOMER collector.

Kamailio siptrace, Asterisk res_hep, FreeSWITCH and heplify send here. Each SIP message arrives as
a `sip` record with the HEP facts alongside, handed to `on_record` (the pipeline's feed).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from phonewarden.settings import HepSettings
from phonewarden.wire.hep import HepStreamFramer
from phonewarden.wire.traffic import NetworkRecord, TrafficDecoder

log = logging.getLogger(__name__)
RecordCallback = Callable[[NetworkRecord[Any]], None]


class HepListener:
    def __init__(self, settings: HepSettings, on_record: RecordCallback | None = None) -> None:
        self.settings = settings
        self.on_record = on_record or (lambda record: None)
        self.decoder = TrafficDecoder()
        self.counts: Counter[str] = Counter()
        self.addresses: list[str] = []
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        host, port = self.settings.host, self.settings.port
        if "udp" in self.settings.transports:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(host, port)
            )
            self._udp = transport
            self.addresses.append(f"udp:{_sockname(transport.get_extra_info('sockname'))}")
        if "tcp" in self.settings.transports:
            self._tcp = await asyncio.start_server(self._serve_tcp, host, port)
            for sock in self._tcp.sockets:
                self.addresses.append(f"tcp:{_sockname(sock.getsockname())}")
        log.info("HEP listener on %s", ", ".join(self.addresses))

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()

    def handle(self, data: bytes, agent: str) -> None:
        """Decode one HEP packet from `agent` and pass its records on."""
        self.counts["packets"] += 1
        if len(data) > self.settings.max_packet_bytes:
            self.counts["dropped-oversize"] += 1
            return
        packet = self.decoder.hep.decode(data)
        if packet is None:
            self.counts["dropped-undecodable"] += 1
            return
        if self.settings.auth_key is not None and packet.auth_key != self.settings.auth_key:
            self.counts["dropped-auth-key"] += 1
            return
        for record in self.decoder.hep_records(packet, agent):
            self.counts[f"{record.type}_messages"] += 1
            try:
                self.on_record(record)
            except Exception:  # a failing consumer must not stop the listener
                self.counts["consumer-errors"] += 1
                log.exception("HEP record consumer failed")

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        agent = str(peer[0]) if peer else "unknown"
        framer = HepStreamFramer()
        try:
            while chunk := await reader.read(65536):
                for frame in framer.feed(chunk):
                    self.handle(frame, agent)
        finally:
            self.counts["dropped-stream-garbage"] += sum(framer.anomalies.values())
            writer.close()

    def stats(self) -> dict[str, Any]:
        dropped = sum(count for key, count in self.counts.items() if key.startswith("dropped"))
        return {
            "listening": self.addresses,
            "packets": self.counts["packets"],
            "sip_messages": self.counts["sip_messages"],
            "dropped": dropped,
            "counts": dict(self.counts),
        }


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, listener: HepListener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.listener.handle(data, str(addr[0]))


def _sockname(name: Any) -> str:
    host, port = name[0], name[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
