from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from phonewarden.capture.replay import CaptureReplay
from phonewarden.core.records import Segment
from phonewarden.privacy import repository
from phonewarden.privacy.live import start
from phonewarden.privacy.settings import PrivacySettings
from phonewarden.settings import Settings
from phonewarden.store.engine import session_factory
from phonewarden.wire.sip import parse_sip
from phonewarden.wire.traffic import NetworkRecord

REGISTER = (
    b"REGISTER sip:pbx.example SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.12:5060;branch=z9hG4bK1\r\n"
    b"From: <sip:alice-4711@pbx.example>;tag=1\r\nTo: <sip:alice-4711@pbx.example>\r\nCall-ID: 1@x\r\n"
    b"CSeq: 1 REGISTER\r\nUser-Agent: snom D785 SN0004133F9A2\r\n"
    b'Contact: <sip:alice-4711@198.51.100.12>;+sip.instance="<urn:uuid:0004-13aabbcc>"\r\n'
    b"Content-Length: 0\r\n\r\n"
)


async def test_frames_and_hep_sip_records(capture: Path, devices_file: Path) -> None:
    settings = Settings(privacy=PrivacySettings(devices_file=devices_file, policies=["eu"]))
    guard = start(settings, None)
    guard.on_record("something else")
    for frame in CaptureReplay(capture, progress=False):
        guard.on_record(frame)
    segment = Segment(10.0, "udp", "198.51.100.12", 5060, "85.214.132.117", 5060, REGISTER)
    guard.engine.table.by_ip["198.51.100.12"] = "snom-d785"  # the desk phone's address, learnt from its MAC
    guard.on_record(NetworkRecord("sip", segment, parse_sip(REGISTER)))
    analysis = guard.snapshot()
    assert (guard.frames, guard.records, guard.ignored) == (460, 1, 1)
    assert any(leak.identifier == "imei" and leak.encoding == "base64" for leak in analysis.leaks)
    assert {v.status for v in analysis.verdicts if v.device == "nokia-7-plus"} == {"violation"}
    sip = {
        (leak.identifier, leak.destination.protocol) for leak in analysis.leaks if leak.device == "snom-d785"
    }
    assert {("serial", "sip"), ("sip_user", "sip")} <= sip
    await guard.stop()


async def test_stored_inventory_and_snapshot_stored_at_stop(capture: Path, privacy_engine: Engine) -> None:
    with session_factory(privacy_engine)() as session, session.begin():
        repository.add_device(session, {"name": "nokia", "ip": "198.51.100.11", "imei": "352099001761481"})
    guard = start(Settings(privacy=PrivacySettings(policies=["de"])), privacy_engine)
    for frame in CaptureReplay(capture, progress=False):
        guard.on_record(frame)
    await guard.stop()
    with session_factory(privacy_engine)() as session:
        [run] = repository.list_runs(session)
        leaks = repository.run_records(session, run.id, "leaks", device="nokia", confidence="high")
    assert (
        run.source == "live" and run.policies == ["de"] and {leak["identifier"] for leak in leaks} == {"imei"}
    )
