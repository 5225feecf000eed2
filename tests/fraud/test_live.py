"""Live calls from real SIP: sipp places parallel calls to Somalia through a sipp UAS on loopback, tshark
captures them, and the fraud guard sees the concurrency before any CDR exists (live.py and replay)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phonewarden.capture.replay import CaptureReplay
from phonewarden.cli import app
from phonewarden.fraud.live import FraudLive
from phonewarden.fraud.service import FraudService
from phonewarden.fraud.settings import FraudSettings
from phonewarden.output import decode_json_lines
from phonewarden.wire.traffic import TrafficDecoder
from tests.conftest import free_port

CALLS = 6


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sipp, tshark = shutil.which("sipp"), shutil.which("tshark")
    assert sipp, "sipp missing: apt-get install sip-tester (scripts/install-debs.sh)"
    assert tshark, "tshark missing: apt-get install tshark (scripts/install-debs.sh)"
    folder = tmp_path_factory.mktemp("live")
    path = folder / "calls.pcapng"
    uas_port, uac_port = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    dumper = subprocess.Popen(
        [tshark, "-i", "lo", "-f", f"udp port {uas_port}", "-w", str(path), "-a", "duration:60"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    uas = None
    try:
        deadline = time.monotonic() + 20
        while not (path.exists() and path.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # the file header is written just before the capture starts
        uas = subprocess.Popen(
            [sipp, "-sn", "uas", "-i", "127.0.0.1", "-p", str(uas_port), "-nostdin", "-timeout", "40s"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        result = subprocess.run(
            [
                sipp,
                "-sn",
                "uac",
                f"127.0.0.1:{uas_port}",
                "-i",
                "127.0.0.1",
                "-p",
                str(uac_port),
                "-s",
                "0025261234567",
                "-m",
                str(CALLS),
                "-l",
                str(CALLS),
                "-r",
                "20",
                "-d",
                "3000",
                "-nostdin",
                "-timeout",
                "30s",
                "-timeout_error",
            ],
            capture_output=True,
            timeout=40,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-2000:]
        time.sleep(1.0)
    finally:
        if uas is not None:
            uas.terminate()
            uas.wait(10)
        dumper.terminate()
        dumper.wait(10)
    return path


@pytest.mark.peer
def test_live_guard_sees_parallel_calls_before_any_cdr(capture: Path) -> None:
    live = FraudLive(FraudService(FraudSettings(concurrency_cap=3)))
    decoder = TrafficDecoder()
    for frame in CaptureReplay(capture, progress=False):
        for record in decoder.feed(frame):
            live.on_record(record)
    assert live.records >= CALLS * 5  # INVITE, 100, 180, 200, ACK, BYE, 200 per call (some may merge)
    engine = live.service.engine
    # sipp's UAC sends From: sipp <sip:sipp@...>, so the account is "sipp".
    assert engine.book.level("sipp", engine.now) == 2
    assert engine.authorize("sipp", "0025261234567", engine.now).allow is False
    assert engine.live.by_account == {}  # every call was hung up: nothing left open


@pytest.mark.peer
def test_replay_with_capture_prints_concurrency_alert(capture: Path, tmp_path: Path) -> None:
    config = tmp_path / "phonewarden.toml"
    config.write_text("[fraud]\nconcurrency_cap = 3\n")
    result = CliRunner().invoke(
        app, ["--config", str(config), "fraud", "replay", "--capture", str(capture), "--json"]
    )
    assert result.exit_code == 0, result.output
    records = decode_json_lines(result.stdout.encode())
    alerts = [r for r in records if r["type"] == "alert"]
    assert any(a["detector"] == "concurrency" and a["severity"] == "critical" for a in alerts), alerts
    assert [r["level"] for r in records if r["type"] == "restriction"] == [2]
    assert records[-1]["type"] == "summary" and records[-1]["cdrs"] == 0


def test_start_wires_the_outbox_from_settings(tmp_path: Path) -> None:
    import asyncio

    from phonewarden.fraud.live import start
    from phonewarden.settings import Settings

    settings = Settings(data_dir=tmp_path, fraud=FraudSettings(alert_syslog="127.0.0.1:9"))
    live = start(settings, None)  # type: ignore[arg-type]  # no database: restrictions kept in memory
    router = live.service.outbox
    assert router is not None and set(router.outboxes) == {"fraud-syslog"}
    assert (tmp_path / "outbox" / "fraud-syslog").is_dir()
    asyncio.run(live.stop())
    idle = start(Settings(data_dir=tmp_path), None).service.outbox  # type: ignore[arg-type]
    assert idle is not None and idle.outboxes == {}


def _wait_for(condition: object, what: str) -> None:
    deadline = time.monotonic() + 30  # a failure guard only: the thread ticks every 50 ms here
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_the_clock_restricts_after_an_unanswered_alert_with_no_further_record() -> None:
    """A high alert waits for a person; with no ack and no other record the thread's tick restricts."""
    import asyncio

    from phonewarden.fraud.cdr import Cdr

    service = FraudService(FraudSettings(ack_timeout_minutes=0.01))  # 0.6 s
    live = FraudLive(service, poll_seconds=0.05, tick_seconds=0.05)
    try:
        now = time.time()
        range_dialling = [
            Cdr(
                account="acme",
                destination=f"0044207946{i:04d}",
                start=now - 20,
                end=now - 12 + i * 0.1,
                billsec=5,
            )
            for i in range(12)
        ]
        outputs = service.ingest(range_dialling)
        assert [(o.type, o.severity) for o in outputs if o.type == "alert"] == [("alert", "high")]
        assert service.restrictions() == [] and service.open_alerts()
        _wait_for(lambda: service.restrictions(), "the ack deadline to pass")
        assert [(r.account, r.level) for r in service.restrictions()] == [("acme", 1)]
    finally:
        asyncio.run(live.stop())


def test_live_calls_alone_reach_the_day_limit_through_serve() -> None:
    """The review's probe: 40 back-to-back 20-minute calls to Tunisia (EUR 10 each) seen only as SIP
    (no CDR). Each BYE books the call's estimate, so the EUR 250 day limit restricts the caller."""
    import asyncio

    from tests.fraud.test_engine import BYE, INVITE, OK, _sip

    service = FraudService(FraudSettings())
    live = FraudLive(service, poll_seconds=3600)  # no clock tick during the test: SIP times rule
    try:
        t = time.time() - 40 * 1210
        for n in range(40):
            number = f"0021671{n:06d}"
            live.on_record(_sip(INVITE.format(n=n, number=number), t))
            live.on_record(_sip(OK.format(n=n, number=number), t + 3))
            live.on_record(_sip(BYE.format(n=n, number=number), t + 1203))
            t += 1210
    finally:
        asyncio.run(live.stop())
    restriction = service.engine.book.accounts.get("alice")
    # at the 26th call: its own running cost on top of the 25 booked calls (EUR 250)
    assert (
        restriction is not None and restriction.level == 2 and "EUR 260.00 in 1440 min" in restriction.reason
    )
    assert service.engine.detector.cdrs == 40  # every hang-up was booked
