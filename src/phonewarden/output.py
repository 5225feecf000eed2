"""The one output contract of every analysis command: `--json` writes JSON Lines.

One object per record, each with `type`, `time` (ISO 8601 UTC, event time) and that type's fields.
The sink is a pipeline `Sink`, so commands only choose it; they never format JSON themselves.
"""

from __future__ import annotations

from typing import IO, Any

import msgspec

from phonewarden.core.records import Record


class JsonLinesSink:
    """Writes each record's `to_json()` as one line of UTF-8 JSON (msgspec: ~10x faster than json)."""

    name = "json-lines"

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.encoder = msgspec.json.Encoder()
        self.written = 0

    def emit(self, record: Record) -> None:
        self.stream.write(self.encoder.encode(record.to_json()) + b"\n")
        self.written += 1

    def close(self) -> None:
        self.stream.flush()


def decode_json_lines(data: bytes) -> list[dict[str, Any]]:
    """Read JSON Lines back (for tests and tools that consume phonewarden's output)."""
    return [msgspec.json.decode(line) for line in data.splitlines() if line.strip()]
