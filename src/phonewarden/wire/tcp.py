"""TCP stream reassembly: TCP segments in, in-order stream bytes per flow direction out.

Each direction is tracked on its own by (src, sport, dst, dport). Sequence numbers are unwrapped to
a 64-bit stream position, so wraparound needs no special case. Memory is bounded: a flow table of
`max_flows` directions (least recently active evicted first) and `max_buffered_bytes_per_flow` of
out-of-order data per direction (on overflow the gap is skipped and counted).
"""

from __future__ import annotations

import struct
from bisect import insort
from collections import Counter, deque
from dataclasses import dataclass, field

from phonewarden.core.records import Segment

FlowKey = tuple[str, int, str, int]  # src, sport, dst, dport of one direction

_HEADER = struct.Struct("!HHI4xBB")
_FIN, _SYN, _RST = 0x01, 0x02, 0x04
_MASK, _HALF = 0xFFFFFFFF, 0x80000000
_SWEEP_INTERVAL = 1.0  # seconds of event time between idle sweeps


@dataclass(slots=True)
class _Direction:
    isn: int  # sequence number of stream position 0
    last_time: float
    position: int = 0  # unwrapped position of the next byte to deliver
    pending: list[tuple[int, bytes]] = field(default_factory=list)  # out of order, sorted by position
    buffered: int = 0
    fin_position: int | None = None
    closed: bool = False  # kept as a tombstone so late retransmissions are not taken as a new stream


class TcpReassembler:
    def __init__(
        self,
        max_flows: int = 65536,
        max_buffered_bytes_per_flow: int = 256 << 10,
        idle_timeout: float = 300.0,
    ) -> None:
        self.anomalies: Counter[str] = Counter()
        self._max_flows = max_flows
        self._max_buffered = max_buffered_bytes_per_flow
        self._idle_timeout = idle_timeout
        self._flows: dict[FlowKey, _Direction] = {}  # insertion order = least recently active first
        # Bounded so a caller that never calls pop_closed() cannot make it grow without limit.
        self._closed: deque[FlowKey] = deque(maxlen=max(1024, 4 * max_flows))
        self._next_sweep = float("-inf")

    @property
    def flow_count(self) -> int:
        return len(self._flows)

    @property
    def has_closed(self) -> bool:
        """Whether pop_closed() has anything: a cheap check for the per-frame hot path."""
        return bool(self._closed)

    def pop_closed(self) -> list[FlowKey]:
        """Directions that ended (FIN delivered, RST, idle or evicted) since the previous call."""
        closed = list(self._closed)
        self._closed.clear()
        return closed

    def feed(self, time: float, src: str, dst: str, tcp_bytes: bytes) -> list[Segment]:
        if len(tcp_bytes) < 20:
            self.anomalies["tcp-truncated"] += 1
            return []
        sport, dport, seq, data_offset, flags = _HEADER.unpack_from(tcp_bytes, 0)
        header_len = (data_offset >> 4) * 4
        if header_len < 20:
            self.anomalies["tcp-bad-header-length"] += 1
            return []
        if header_len > len(tcp_bytes):
            self.anomalies["tcp-truncated"] += 1
            return []
        if time >= self._next_sweep:
            self._sweep(time)
        payload = tcp_bytes[header_len:]
        key = (src, sport, dst, dport)
        flows = self._flows
        state = flows.pop(key, None)
        if flags & _RST:
            if state is not None:
                flows[key] = state
                self._finish(key, state)
            reverse = (dst, dport, src, sport)
            if reverse in flows:
                self._finish(reverse, flows[reverse])
            return []
        if flags & _SYN:
            isn = (seq + 1) & _MASK
            if state is None or state.closed or state.isn != isn:  # new connection or 4-tuple reuse
                state = _Direction(isn, time)
            seq = isn  # data on a SYN (TCP Fast Open) starts after it
        elif state is None:
            if not payload:
                return []  # a pure ACK or FIN of a stream we never saw: nothing to track
            state = _Direction(seq, time)  # mid-stream pickup
        if len(flows) >= self._max_flows:
            self._evict_oldest()
        flows[key] = state
        state.last_time = time
        if state.closed:
            return []
        position = state.position + (((seq - state.isn - state.position) & _MASK) ^ _HALF) - _HALF
        runs = self._accept(state, position, payload) if payload else []
        if flags & _FIN:
            state.fin_position = position + len(payload)
        if state.fin_position is not None and state.position >= state.fin_position:
            self._finish(key, state)
        return [Segment(time, "tcp", src, sport, dst, dport, run) for run in runs]

    def _accept(self, state: _Direction, position: int, payload: bytes) -> list[bytes]:
        """Runs of newly contiguous bytes; a new run starts after each skipped gap."""
        end = position + len(payload)
        if end <= state.position:
            return []  # pure retransmission
        if position > state.position:
            insort(state.pending, (position, payload), key=_first)
            state.buffered += len(payload)
            runs: list[bytes] = []
            while state.buffered > self._max_buffered:
                self.anomalies["tcp-gap-skipped"] += 1
                state.position = state.pending[0][0]
                run = self._drain(state, [])
                if run:
                    runs.append(run)
            return runs
        parts = [payload[state.position - position :]]
        state.position = end
        return [self._drain(state, parts)]

    def _drain(self, state: _Direction, parts: list[bytes]) -> bytes:
        """Appends buffered segments that have become contiguous with the delivered stream."""
        pending = state.pending
        while pending and pending[0][0] <= state.position:
            start, data = pending.pop(0)
            state.buffered -= len(data)
            end = start + len(data)
            if end > state.position:
                parts.append(data[state.position - start :])
                state.position = end
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _finish(self, key: FlowKey, state: _Direction) -> None:
        if not state.closed:
            state.closed = True
            state.pending.clear()
            state.buffered = 0
            self._closed.append(key)

    def _evict_oldest(self) -> None:
        key = next(iter(self._flows))
        state = self._flows.pop(key)
        if not state.closed:
            self.anomalies["tcp-flow-evicted"] += 1
            self._finish(key, state)

    def _sweep(self, time: float) -> None:
        self._next_sweep = time + min(self._idle_timeout, _SWEEP_INTERVAL)
        horizon = time - self._idle_timeout
        flows = self._flows
        while flows:
            key = next(iter(flows))
            state = flows[key]
            if state.last_time >= horizon:
                return
            del flows[key]
            self._finish(key, state)


def _first(entry: tuple[int, bytes]) -> int:
    return entry[0]
