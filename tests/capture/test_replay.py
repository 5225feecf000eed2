import gzip
import struct
from pathlib import Path

import pytest

from phonewarden.capture.replay import CaptureError, CaptureReplay


def _pcap(frames: list[bytes]) -> bytes:
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
    for index, data in enumerate(frames):
        out += struct.pack("<IIII", 1_700_000_000 + index, 500_000, len(data), len(data)) + data
    return out


def test_plain_and_gzip_files_give_the_same_frames(tmp_path: Path) -> None:
    raw = _pcap([b"\x45" + bytes(27), b"\x45" + bytes(40)])
    plain, packed = tmp_path / "a.pcap", tmp_path / "a.pcap.gz"
    plain.write_bytes(raw)
    packed.write_bytes(gzip.compress(raw))
    frames = list(CaptureReplay(plain))
    assert [(f.time, len(f.data), f.linktype) for f in frames] == [
        (1_700_000_000.5, 28, 101),
        (1_700_000_001.5, 41, 101),
    ]
    assert list(CaptureReplay(packed)) == frames


@pytest.mark.parametrize("content", [b"", b"this is not a capture file at all", b"\x1f\x8b garbage gzip"])
def test_not_a_capture_names_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(CaptureError, match=r"notes\.txt"):
        list(CaptureReplay(path))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match=r"missing\.pcap: cannot open"):
        list(CaptureReplay(tmp_path / "missing.pcap"))


def test_truncated_last_record_is_counted_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "cut.pcap"
    path.write_bytes(_pcap([b"\x45" + bytes(27), b"\x45" + bytes(40)])[:-10])
    replay = CaptureReplay(path)
    assert len(list(replay)) == 1
    assert sum(replay.decoder.anomalies.values()) >= 1
