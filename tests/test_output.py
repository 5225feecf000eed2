import io
from dataclasses import dataclass
from typing import Any

from phonewarden.output import JsonLinesSink, decode_json_lines


@dataclass
class _Record:
    type: str
    time: float
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "time": "2023-11-14T22:13:20.000000Z", "name": self.name}


def test_one_utf8_json_object_per_line() -> None:
    stream = io.BytesIO()
    sink = JsonLinesSink(stream)
    sink.emit(_Record("sip", 1.7e9, 'Jürgen "the" admin\nline'))
    sink.emit(_Record("dns", 1.7e9, "b"))
    sink.close()
    lines = stream.getvalue().split(b"\n")
    assert len(lines) == 3 and lines[-1] == b""
    assert "Jürgen".encode() in lines[0]
    assert decode_json_lines(stream.getvalue()) == [
        {"type": "sip", "time": "2023-11-14T22:13:20.000000Z", "name": 'Jürgen "the" admin\nline'},
        {"type": "dns", "time": "2023-11-14T22:13:20.000000Z", "name": "b"},
    ]
    assert sink.written == 2
