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
