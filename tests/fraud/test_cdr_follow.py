"""Following CDR files on disk: real files, appended, rotated, truncated and re-read after a restart;
and serve's live guard (a real thread) turning appended Asterisk lines into a restriction."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from phonewarden.fraud.cdr import Cdr
from phonewarden.fraud.cdr_follow import STATE_NAME, CdrFollower
from phonewarden.fraud.live import FraudLive
from phonewarden.fraud.service import FraudService
from phonewarden.fraud.settings import CdrFile, FraudSettings

SATELLITE = "0088213456789"  # EUR 5/min in the shipped tariff


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")


def master_line(
    n: int, end: float, seconds: int = 60, number: str = "030123456", account: str = "acme"
) -> str:
    """One Asterisk cdr_csv Master.csv line (16 columns, usegmtime=yes)."""
    start = end - seconds - 5
    return (
        f'"{account}","1001","{number}","from-internal","""Alice"" <1001>","PJSIP/1001-{n:08x}",'
        f'"PJSIP/trunk-{n:08x}","Dial","PJSIP/{number}@trunk","{_stamp(start)}","{_stamp(start + 5)}",'
        f'"{_stamp(end)}",{seconds + 5},{seconds},"ANSWERED","DOCUMENTATION"\n'
    )


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


class Sink:
    def __init__(self) -> None:
        self.cdrs: list[Cdr] = []

    def __call__(self, batch: list[Cdr]) -> None:
        self.cdrs.extend(batch)

    @property
    def lines(self) -> list[int]:
        return [cdr.line for cdr in self.cdrs]


def _follower(path: Path, state: Path, sink: Sink, **settings: object) -> CdrFollower:
    fraud = FraudSettings(cdr_files=[CdrFile(path=path)], **settings)  # type: ignore[arg-type]
    return CdrFollower(fraud.cdr_files, fraud, state / STATE_NAME, sink)


def test_appended_lines_are_read_once_and_a_half_line_waits(tmp_path: Path) -> None:
    path, sink, t = tmp_path / "Master.csv", Sink(), 1_767_571_200.0
    path.write_text(master_line(1, t) + master_line(2, t + 60))
    follower = _follower(path, tmp_path, sink)
    assert follower.poll() == 2
    _append(path, master_line(3, t + 120)[:40])  # the PBX is in the middle of writing a line
    assert follower.poll() == 0
    _append(path, master_line(3, t + 120)[40:])
    assert follower.poll() == 1 and follower.poll() == 0
    assert sink.lines == [1, 2, 3] and sink.cdrs[2].end == t + 120


def test_restart_goes_on_where_it_stopped(tmp_path: Path) -> None:
    path, sink, t = tmp_path / "Master.csv", Sink(), 1_767_571_200.0
    path.write_text("".join(master_line(n, t + n) for n in range(3)))
    _follower(path, tmp_path, sink).poll()
    _append(path, master_line(3, t + 3))
    again = Sink()
    assert _follower(path, tmp_path, again).poll() == 1  # a new process: only the new line
    assert again.lines == [4]


def test_rotation_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    path, sink, t = tmp_path / "Master.csv", Sink(), 1_767_571_200.0
    path.write_text(master_line(0, t))
    follower = _follower(path, tmp_path, sink)
    follower.poll()
    _append(path, master_line(1, t + 1))  # written just before the rotation, not read yet
    path.rename(tmp_path / "Master.csv.1")
    path.write_text(master_line(2, t + 2) + master_line(3, t + 3))
    follower.poll()
    assert [c.end - t for c in sink.cdrs] == [0, 1, 2, 3]
    assert follower.poll() == 0


def test_rotation_while_stopped_reads_the_old_file_first(tmp_path: Path) -> None:
    path, sink, t = tmp_path / "Master.csv", Sink(), 1_767_571_200.0
    path.write_text(master_line(0, t))
    _follower(path, tmp_path, sink).poll()
    _append(path, master_line(1, t + 1))
    path.rename(tmp_path / "Master.csv.1")
    path.write_text(master_line(2, t + 2))
    _follower(path, tmp_path, sink).poll()
    assert [c.end - t for c in sink.cdrs] == [0, 1, 2]


def test_truncation_reads_from_the_start(tmp_path: Path) -> None:
    path, sink, t = tmp_path / "Master.csv", Sink(), 1_767_571_200.0
    path.write_text(master_line(0, t) + master_line(1, t + 1))
    follower = _follower(path, tmp_path, sink)
    follower.poll()
    path.write_text(master_line(2, t + 2))  # copytruncate: same inode, shorter
    follower.poll()
    assert [c.end - t for c in sink.cdrs] == [0, 1, 2] and sink.lines == [1, 2, 1]


def test_bad_lines_are_logged_with_their_number_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, sink, t = tmp_path / "Master.csv", Sink(), 1_767_571_200.0
    bad = master_line(1, t).replace(_stamp(t), "not a time")
    path.write_text(master_line(0, t) + bad + master_line(2, t + 2))
    with caplog.at_level(logging.WARNING, "phonewarden.fraud.cdr_follow"):
        assert _follower(path, tmp_path, sink).poll() == 2
    assert f"{path}:2: time 'not a time'" in caplog.text


def test_a_csv_header_is_kept_across_a_restart(tmp_path: Path) -> None:
    path, sink = tmp_path / "calls.csv", Sink()
    fields = {"account": "customer", "destination": "called", "end": "hangup", "billsec": "seconds"}
    path.write_text("customer,called,hangup,seconds\nacme,+4930123456,1772452800,60\n")
    _follower(path, tmp_path, sink, generic_fields=fields).poll()
    _append(path, "beta,+4930123457,1772452900,30\n")
    _follower(path, tmp_path, sink, generic_fields=fields).poll()
    assert [(c.account, c.billsec, c.line) for c in sink.cdrs] == [("acme", 60.0, 2), ("beta", 30.0, 3)]


def test_a_file_of_unknown_format_is_reported_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path, sink = tmp_path / "odd.csv", Sink()
    path.write_text("1,2\n")
    follower = _follower(path, tmp_path, sink)
    with caplog.at_level(logging.ERROR, "phonewarden.fraud.cdr_follow"):
        follower.poll()
        follower.poll()
    assert caplog.text.count("cannot tell the format") == 1 and "format = ..." in caplog.text


def _wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + 30  # a failure guard only: the thread polls every 20 ms
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_live_guard_follows_master_csv_into_a_restriction_and_across_rotation(tmp_path: Path) -> None:
    path = tmp_path / "Master.csv"
    path.write_text("")
    settings = FraudSettings(cdr_files=[CdrFile(path=path)])
    service = FraudService(settings)
    live = FraudLive(service, tmp_path, poll_seconds=0.02)
    try:
        now = time.time()
        _append(path, master_line(1, now - 30) + master_line(2, now - 20))
        _wait_for(lambda: service.engine.detector.cdrs == 2, "two national calls")
        assert service.restrictions() == []
        # 4 minutes to a satellite number (EUR 20): over the 5-minute limit of EUR 15 -> level 2.
        _append(path, master_line(3, now - 10, seconds=240, number=SATELLITE))
        _wait_for(lambda: service.restrictions(), "a restriction")
        assert [(r.account, r.level) for r in service.restrictions()] == [("acme", 2)]
        _append(path, master_line(4, now - 5))
        path.rename(tmp_path / "Master.csv.1")
        path.write_text(master_line(5, now - 4) + master_line(6, now - 3))
        _wait_for(lambda: service.engine.detector.cdrs >= 6, "the rotated and the new file")
    finally:
        asyncio.run(live.stop())
    assert service.engine.detector.cdrs == 6  # nothing lost, nothing read twice
    assert (tmp_path / STATE_NAME).is_file()


def test_cdr_files_settings_take_a_path_or_a_path_and_format() -> None:
    from pydantic import ValidationError

    settings = FraudSettings.model_validate(
        {"cdr_files": ["/var/log/a.csv", {"path": "/var/log/b.csv", "format": "asterisk-custom"}]}
    )
    assert [(f.path.name, f.format) for f in settings.cdr_files] == [
        ("a.csv", None),
        ("b.csv", "asterisk-custom"),
    ]
    with pytest.raises(ValidationError, match=r"cdr_files\.0\.format"):
        FraudSettings.model_validate({"cdr_files": [{"path": "/x", "format": "csv"}]})
    with pytest.raises(ValidationError, match="lists a file twice"):
        FraudSettings.model_validate({"cdr_files": ["/x", "/x"]})
    with pytest.raises(ValueError, match="needs a data_dir"):
        FraudLive(FraudService(settings))


def test_a_named_format_skips_detection(tmp_path: Path) -> None:
    path, sink = tmp_path / "Master.csv", Sink()
    # cdr_custom with a mapping of its own: no default layout to detect it by
    path.write_text('"acme","004930123456","2026-03-02 09:10:05","600"\n')
    fraud = FraudSettings(
        cdr_files=[CdrFile(path=path, format="asterisk-custom")],
        asterisk_custom_mapping="${CSV_QUOTE(${CDR(accountcode)})},${CSV_QUOTE(${CDR(dst)})},${CSV_QUOTE(${CDR(end)})},${CSV_QUOTE(${CDR(billsec)})}",
    )
    CdrFollower(fraud.cdr_files, fraud, tmp_path / STATE_NAME, sink).poll()
    assert [(c.account, c.destination, c.billsec) for c in sink.cdrs] == [("acme", "004930123456", 600.0)]
