"""Follow CDR files while `serve` runs (`[fraud] cdr_files`), like `tail -F`, without losing or repeating.

Each file's format is detected once from its first complete lines (or named in the settings). The read
position (device, inode, byte offset, line number, CSV header) is saved in `data_dir` after every batch
the service has taken, so a restart goes on where it stopped. Rotation is a new inode at the path: the
old file is read to its end first (through the still open handle, or found again by its inode among
the path's siblings, e.g. `Master.csv.1`, when the rotation happened while stopped); then the new file
from its start. A file that shrank without a new inode was truncated (logrotate `copytruncate`): read
again from the start. Only complete lines are read; a half-written last line waits for its newline.
Bad rows are logged as `path:line: what is wrong` and skipped.

Pairing state that spans lines (Kamailio INVITE/BYE, CEL events of one call) is kept only in memory: a
call whose records straddle a restart is not counted.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from phonewarden.fraud.cdr import Cdr, CdrFormatError, CdrRowError
from phonewarden.fraud.readers import LineReader, detect_format
from phonewarden.fraud.settings import CdrFile, FraudSettings

log = logging.getLogger(__name__)

BATCH = 500  # CDRs handed to the service at once
READ_BYTES = 1 << 20  # at most this much of one file per poll, so one huge file does not starve others
STATE_NAME = "fraud-cdr-files.json"


@dataclass
class Position:
    """Where reading of one path stands; saved as JSON in data_dir."""

    device: int = 0
    inode: int = 0
    offset: int = 0
    line: int = 0  # lines consumed so far in this file (the next one is line + 1)
    fmt: str = ""
    header: list[str] | None = None


@dataclass
class _Followed:
    spec: CdrFile
    position: Position
    handle: IO[bytes] | None = None
    reader: LineReader | None = None
    errors: int = 0
    pending: list[Cdr] = field(default_factory=list)


class CdrFollower:
    """`poll()` reads what was appended to every file since the last poll and hands it to `sink`."""

    def __init__(
        self,
        files: list[CdrFile],
        settings: FraudSettings,
        state_path: Path,
        sink: Callable[[list[Cdr]], object],
    ) -> None:
        self.settings = settings
        self.state_path = state_path
        self.sink = sink
        self.cdrs = 0
        self.bad_rows = 0
        saved = self._load()
        self.files = [_Followed(spec, saved.get(str(spec.path), Position())) for spec in files]

    # -- state ---------------------------------------------------------------------------------------
    def _load(self) -> dict[str, Position]:
        try:
            raw = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning(
                "fraud: %s unreadable (%s): CDR files are read from their start", self.state_path, exc
            )
            return {}
        positions: dict[str, Position] = {}
        for path, values in raw.items() if isinstance(raw, dict) else ():
            try:
                positions[path] = Position(**values)
            except TypeError:
                log.warning("fraud: %s: bad entry for %s ignored", self.state_path, path)
        return positions

    def _save(self) -> None:
        data = {str(f.spec.path): asdict(f.position) for f in self.files}
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(temporary, self.state_path)  # atomic: a crash leaves the old or the new state

    # -- reading -------------------------------------------------------------------------------------
    def poll(self) -> int:
        """Read every file's new complete lines; how many CDRs went to the sink."""
        before = self.cdrs
        for followed in self.files:
            try:
                self._poll_file(followed)
                followed.errors = 0  # working again: the next error is worth a log line
            except CdrFormatError as exc:
                if followed.errors == 0:  # said once, not every poll
                    log.error("fraud: %s: %s", followed.spec.path, exc)
                followed.errors += 1
            except OSError as exc:
                if followed.errors == 0:
                    log.error("fraud: %s: %s", followed.spec.path, exc)
                followed.errors += 1
        return self.cdrs - before

    def close(self) -> None:
        for followed in self.files:
            if followed.handle is not None:
                followed.handle.close()
                followed.handle = None

    def _poll_file(self, followed: _Followed) -> None:
        path = followed.spec.path
        position = followed.position
        try:
            status = os.stat(path)
        except FileNotFoundError:
            status = None  # between a rotation's rename and the new file: finish the old one
        if followed.handle is None:
            if status is None:
                return
            self._open(followed, status)
        assert followed.handle is not None
        current = os.fstat(followed.handle.fileno())
        rotated = status is not None and (status.st_ino, status.st_dev) != (current.st_ino, current.st_dev)
        if not rotated and current.st_size < position.offset:
            log.warning("fraud: %s shrank to %d bytes: truncated, read from the start", path, current.st_size)
            self._restart_file(followed, current)
        self._read(followed, final=rotated)
        if rotated and status is not None:
            followed.handle.close()
            followed.handle = None
            log.info("fraud: %s was rotated; following the new file", path)
            self._open(followed, status, fresh=True)
            self._read(followed, final=False)

    def _open(self, followed: _Followed, status: os.stat_result, fresh: bool = False) -> None:
        position = followed.position
        same = (position.device, position.inode) == (status.st_dev, status.st_ino)
        if not fresh and position.inode and not same:
            old = _find_inode(followed.spec.path, position.device, position.inode)
            if old is not None:  # rotated while stopped: read the rest of the old file first
                log.info(
                    "fraud: %s was rotated to %s while stopped; reading its rest", followed.spec.path, old
                )
                with old.open("rb") as handle:
                    followed.handle = handle
                    self._read(followed, final=True)
                followed.handle = None
        followed.handle = followed.spec.path.open("rb")
        if fresh or not same:
            self._restart_file(followed, os.fstat(followed.handle.fileno()))
        else:
            followed.handle.seek(position.offset)

    def _restart_file(self, followed: _Followed, status: os.stat_result) -> None:
        position = followed.position
        position.device, position.inode = status.st_dev, status.st_ino
        position.offset = position.line = 0
        position.header = None
        if followed.reader is not None:  # the format stays known; what spans lines starts afresh
            followed.reader = LineReader(followed.reader.fmt, self.settings)
        if followed.handle is not None:
            followed.handle.seek(0)

    def _read(self, followed: _Followed, final: bool) -> None:
        """Read complete lines (and a last unterminated one when the file is `final`: rotated away)."""
        assert followed.handle is not None
        position = followed.position
        while True:
            followed.handle.seek(position.offset)
            data = followed.handle.read(READ_BYTES)
            if not data:
                return
            end = data.rfind(b"\n") + 1
            if end == 0:
                if not final or len(data) == READ_BYTES:
                    return  # half a line: wait for the rest
                end = len(data)
            self._lines(followed, data[:end])
            if len(data) < READ_BYTES:
                return

    def _lines(self, followed: _Followed, chunk: bytes) -> None:
        position = followed.position
        path = followed.spec.path
        if followed.reader is None:
            followed.reader = self._reader(followed, chunk[:8192].decode("utf-8", errors="replace"))
        reader = followed.reader
        base, start = position.offset, 0
        while start < len(chunk):
            newline = chunk.find(b"\n", start)
            end = len(chunk) if newline < 0 else newline + 1
            line = chunk[start:end].decode("utf-8", errors="replace").rstrip("\r\n")
            start = end
            position.line += 1
            try:
                if position.line == 1 and reader.start_file(line):
                    position.header = reader.header  # kept for a restart in the middle of the file
                    continue
                cdr = reader.convert(line)
            except CdrFormatError as exc:
                raise CdrFormatError(f"line {position.line}: {exc}") from None
            except CdrRowError as exc:
                self.bad_rows += 1
                log.warning("fraud: %s:%d: %s", path, position.line, exc)
                continue
            if cdr is not None:
                cdr.origin, cdr.line = str(path), position.line
                followed.pending.append(cdr)
                if len(followed.pending) >= BATCH:
                    self._flush(followed, base + end)
        self._flush(followed, base + len(chunk))

    def _reader(self, followed: _Followed, text: str) -> LineReader:
        fmt = followed.spec.format or followed.position.fmt
        if not fmt:
            try:
                fmt = detect_format(text[:8192])
            except CdrFormatError as exc:
                raise CdrFormatError(f"{exc} (name it: cdr_files = [{{path = ..., format = ...}}])") from None
            log.info("fraud: following %s as %s", followed.spec.path, fmt)
        followed.position.fmt = fmt
        reader = LineReader(fmt, self.settings)
        if followed.position.header is not None:  # a restart in the middle of a file with a header
            reader.start_file("", followed.position.header)
        elif followed.position.line > 0 and fmt == "kamailio-acc":
            reader.start_file(text.partition("\n")[0])  # syslog or CSV: told from any line
        return reader

    def _flush(self, followed: _Followed, offset: int) -> None:
        """Hand the pending CDRs to the service, then save the position just after them."""
        batch, followed.pending = followed.pending, []
        if batch:
            self.sink(batch)
            self.cdrs += len(batch)
        if offset != followed.position.offset:
            followed.position.offset = offset
            self._save()


def _find_inode(path: Path, device: int, inode: int) -> Path | None:
    """The sibling of `path` (same directory, name starting with its name) that has this inode."""
    try:
        candidates = [entry for entry in path.parent.iterdir() if entry.name.startswith(path.name)]
    except OSError:
        return None
    for entry in candidates:
        try:
            status = entry.stat()
        except OSError:
            continue
        if (status.st_dev, status.st_ino) == (device, inode):
            return entry
    return None


def follower_for(settings: FraudSettings, data_dir: Path, sink: Callable[[list[Cdr]], Any]) -> CdrFollower:
    return CdrFollower(settings.cdr_files, settings, data_dir / STATE_NAME, sink)
