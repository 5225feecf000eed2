from __future__ import annotations

from pathlib import Path

from phonewarden.capture.replay import CaptureReplay
from phonewarden.privacy.live import start
from phonewarden.settings import Settings


async def test_live_guard_fed_frames_finds_leaks(capture: Path, devices_file: Path) -> None:
    settings = Settings(privacy={"devices_file": devices_file, "policies": ["eu"]})
    guard = start(settings, None)
    guard.on_record("a HEP SIP record is ignored")
    for frame in CaptureReplay(capture, progress=False):
        guard.on_record(frame)
    analysis = guard.snapshot()
    assert any(leak.identifier == "imei" and leak.encoding == "base64" for leak in analysis.leaks)
    assert {v.status for v in analysis.verdicts if v.device == "nokia-7-plus"} == {"violation"}
    await guard.stop()
