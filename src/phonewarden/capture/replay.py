"""Replay a pcap or pcapng file (optionally gzip-compressed) as a stream of frames."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

from phonewarden.core.records import Frame
from phonewarden.wire.pcap import CaptureFileDecoder, is_gzip

CHUNK_BYTES = 1 << 20
PROGRESS_MIN_BYTES = 8 << 20  # below this a progress bar is only noise


class CaptureError(Exception):
    """A capture file that cannot be read; the message names the file and the reason."""


class CaptureReplay:
    """Iterate the frames of a capture file; `decoder.anomalies` tells what was skipped."""

    def __init__(self, path: Path, *, progress: bool = True) -> None:
        self.path = path
        self.decoder = CaptureFileDecoder()
        self.progress = progress

    def _open(self) -> BinaryIO:
        try:
            raw = self.path.open("rb")
        except OSError as exc:
            raise CaptureError(f"{self.path}: cannot open: {exc.strerror}") from exc
        if is_gzip(raw.read(2)):
            raw.seek(0)
            return gzip.open(raw, "rb")  # type: ignore[return-value]
        raw.seek(0)
        return raw

    def __iter__(self) -> Iterator[Frame]:
        size = self.path.stat().st_size if self.path.exists() else 0
        show = self.progress and size >= PROGRESS_MIN_BYTES
        with self._open() as stream, _progress(show) as bar:
            task = bar.add_task(self.path.name, total=size)
            while chunk := self._read(stream):
                yield from self.decoder.feed(chunk)
                if self.decoder.format is None and self.decoder.anomalies.get("not-a-capture"):
                    raise CaptureError(f"{self.path}: not a pcap or pcapng file (unknown magic number)")
                if show:
                    bar.update(task, completed=_position(stream))
            self.decoder.close()
        if self.decoder.format is None:
            raise CaptureError(f"{self.path}: empty or not a pcap/pcapng file")

    def _read(self, stream: BinaryIO) -> bytes:
        try:
            return stream.read(CHUNK_BYTES)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise CaptureError(f"{self.path}: read failed: {exc}") from exc


def _position(stream: BinaryIO) -> int:
    raw = getattr(stream, "fileobj", stream)  # gzip: progress over the compressed file
    return int(raw.tell())


def _progress(enabled: bool) -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=True,
    )
