from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from phonewarden.alerts.routing import AlertRouter
from phonewarden.alerts.settings import AlertRule
from phonewarden.alerts.targets.webhook import WebhookTarget
from phonewarden.capture.hep_listener import HepListener
from phonewarden.capture.live import LiveFeeder
from phonewarden.capture.replay import CaptureReplay
from phonewarden.core.records import Frame
from phonewarden.privacy import repository
from phonewarden.privacy.engine import PrivacyEngine
from phonewarden.privacy.live import NAME_SETTLE_S, LivePrivacy, start
from phonewarden.privacy.service import Analysis, analyze_capture, analyze_frames
from phonewarden.privacy.settings import PrivacySettings
from phonewarden.settings import HepSettings, Settings
from phonewarden.store.engine import session_factory
from phonewarden.wire.hep import HepPacket, encode_hep

SNOM_MAC = bytes.fromhex("000413aabbcc")
PHONE, PBX = "198.51.100.12", "85.214.132.117"  # the desk phone; a PBX in Germany
ZZHC = socket.inet_aton("202.97.1.10")  # where the nokia's activation beacon goes (zzhc.vnet.cn)


def register(cseq: int) -> bytes:
    return (
        b"REGISTER sip:pbx.example SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.12:5060;branch=z9hG4bK%d\r\n"
        b"From: <sip:alice-4711@pbx.example>;tag=1\r\nTo: <sip:alice-4711@pbx.example>\r\nCall-ID: 1@x\r\n"
        b"CSeq: %d REGISTER\r\nUser-Agent: snom D785 SN0004133F9A2\r\n"
        b'Contact: <sip:alice-4711@198.51.100.12>;+sip.instance="<urn:uuid:0004-13aabbcc>"\r\n'
        b"Content-Length: 0\r\n\r\n" % (cseq, cseq)
    )


def udp_frame(time: float, src: str, sport: int, dst: str, dport: int, payload: bytes) -> Frame:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, socket.inet_aton(src),
                     socket.inet_aton(dst)) + udp  # fmt: skip
    data = b"\x00\x11\x22\x33\x44\x55" + SNOM_MAC + b"\x08\x00" + ip
    return Frame(time, 1, data, len(data))


def hep_copy(time: float, payload: bytes) -> bytes:
    """What a proxy sends the HEP listener for a message the phone sent it."""
    return encode_hep(HepPacket(src=PHONE, dst=PBX, sport=5060, dport=5060, time=time, payload=payload))


def router(folder: Path) -> AlertRouter:
    # Workers not started: what the guard submits stays in the outbox for the test to read.
    siem = WebhookTarget("http://127.0.0.1:9/", b"k", name="siem")
    return AlertRouter(folder, {"siem": siem}, [AlertRule(min_severity="low", targets=["siem"])])


def submitted(alerts: AlertRouter, kind: str) -> list[dict[str, Any]]:
    return [entry.alert for entry in alerts.outboxes["siem"].pending() if entry.alert["type"] == kind]


def records(analysis: Analysis) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return [d.to_json() for d in analysis.destinations], [leak.to_json() for leak in analysis.leaks]


class ReplayCapture:
    """Stands in for LiveCapture: the frames of a capture file, then `done` is set."""

    def __init__(self, frames: Iterable[Frame]) -> None:
        self.interface = "replay"
        self.source = frames
        self.done = threading.Event()

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        yield from self.source
        self.done.set()


async def through_live_feeder(guard: LivePrivacy, frames: Iterable[Frame]) -> LiveFeeder:
    """Each frame and the records decoded from it, delivered by the real LiveFeeder as in `serve`."""
    capture = ReplayCapture(frames)
    feeder = LiveFeeder(capture, guard.on_record)  # type: ignore[arg-type]
    feeder.start(asyncio.get_running_loop())
    await asyncio.to_thread(capture.done.wait)
    await asyncio.sleep(0)  # the deliveries queued by the thread run now
    await asyncio.to_thread(feeder.stop)
    return feeder


def replay(capture: Path, keep: Any = lambda frame: True) -> list[Frame]:
    return [frame for frame in CaptureReplay(capture, progress=False) if keep(frame)]


async def test_live_capture_counts_each_frame_once(capture: Path, devices_file: Path) -> None:
    guard = LivePrivacy(Settings(privacy=PrivacySettings(devices_file=devices_file, policies=["eu"])))
    feeder = await through_live_feeder(guard, replay(capture))
    expected = analyze_capture(capture, guard.engine.devices, guard.policies)
    assert (feeder.frames, guard.frames, guard.records) == (460, 460, 0)
    assert guard.decoded > 0  # records were delivered, and not fed a second time
    assert records(guard.snapshot()) == records(expected)
    assert guard.snapshot().summary.frames == 460


async def test_hep_copy_of_captured_sip_is_scanned_once(tmp_path: Path) -> None:
    inventory = tmp_path / "devices.json"
    inventory.write_text(json.dumps([{"name": "snom", "ip": PHONE, "serial": "SN0004133F9A2"}]))
    guard = LivePrivacy(Settings(privacy=PrivacySettings(devices_file=inventory)))
    listener = HepListener(HepSettings(), guard.on_record)
    captured = udp_frame(10.0, PHONE, 5060, PBX, 5060, register(1))
    await through_live_feeder(guard, [captured])
    listener.handle(hep_copy(10.001, register(1)), "198.51.100.2")  # the proxy's copy of the same message
    assert records(guard.snapshot()) == records(analyze_frames([captured], guard.engine.devices, []))
    assert (guard.frames, guard.records, guard.copies) == (1, 0, 1)

    # A message only HEP shows is scanned, once even when the capture also carries its HEP packet.
    carried = udp_frame(20.0, "198.51.100.2", 40000, "198.51.100.1", 9060, hep_copy(19.9, register(2)))
    await through_live_feeder(guard, [carried])
    listener.handle(carried.data[42:], "198.51.100.2")
    assert (guard.frames, guard.records, guard.copies) == (2, 1, 2)
    [serial] = [leak for leak in guard.snapshot().leaks if leak.identifier == "serial"]
    assert (serial.count, serial.destination.packets_out) == (2, 2)


async def test_frames_and_hep_sip_records(tmp_path: Path, capture: Path, devices_file: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, privacy=PrivacySettings(devices_file=devices_file, policies=["eu"])
    )
    guard = start(settings, None)
    guard.on_record("something else")
    for frame in replay(capture):
        guard.on_record(frame)
    guard.engine.table.by_ip[PHONE] = "snom-d785"  # the desk phone's address, learnt from its MAC
    HepListener(HepSettings(), guard.on_record).handle(hep_copy(10.0, register(1)), "198.51.100.2")
    analysis = guard.snapshot()
    assert (guard.frames, guard.records, guard.ignored) == (460, 1, 1)
    assert any(leak.identifier == "imei" and leak.encoding == "base64" for leak in analysis.leaks)
    assert {v.status for v in analysis.verdicts if v.device == "nokia-7-plus"} == {"violation"}
    sip = {
        (leak.identifier, leak.destination.protocol) for leak in analysis.leaks if leak.device == "snom-d785"
    }
    assert {("serial", "sip"), ("sip_user", "sip")} <= sip
    await guard.stop()


async def test_new_destinations_alert_once_against_stored_runs(
    tmp_path: Path, capture: Path, devices_file: Path, privacy_engine: Engine
) -> None:
    settings = Settings(privacy=PrivacySettings(devices_file=devices_file))
    devices = LivePrivacy(settings).engine.devices
    earlier = analyze_frames(replay(capture, lambda frame: ZZHC not in frame.data), devices, [])
    repository.save_to_store(privacy_engine, earlier, "earlier.pcap", [])
    everything = analyze_frames(replay(capture), devices, [])
    known = {(d.device, d.host or d.address) for d in earlier.destinations}
    new = {(d.device, d.host or d.address) for d in everything.destinations if d.scope == "public"} - known
    assert new  # the capture holds destinations the stored run lacks

    alerts = router(tmp_path / "outbox")
    guard = LivePrivacy(settings, privacy_engine, alerts)
    frames = replay(capture)
    for frame in frames:
        guard.on_record(frame)
    guard.check_alerts()
    settling = {(d.device, d.host or d.address) for d in guard.engine.destinations.values()
                if d.first_seen > frames[-1].time - NAME_SETTLE_S}  # fmt: skip
    alerted = {(a["device"], a.get("host") or a["address"]) for a in submitted(alerts, "new_destination")}
    assert alerted == new - settling
    guard.check_alerts(final=True)
    guard.check_alerts(final=True)
    found = submitted(alerts, "new_destination")
    assert sorted((a["device"], a.get("host") or a["address"]) for a in found) == sorted(new)
    assert all(a["guard"] == "privacy" and a["summary"].endswith(")") == a["new_country"] for a in found)
    assert {(a.device, a.destination.host or a.destination.address) for a in guard.snapshot().alerts} == new


async def test_with_nothing_stored_the_first_interval_is_learnt(
    tmp_path: Path, capture: Path, devices_file: Path, privacy_engine: Engine
) -> None:
    alerts = router(tmp_path / "outbox")
    guard = LivePrivacy(Settings(privacy=PrivacySettings(devices_file=devices_file)), privacy_engine, alerts)
    frames = replay(capture)
    first, rest = frames[:60], frames[60:]  # later: the guest phone, the shop, the snom asking DNS
    for frame in first:
        guard.on_record(frame)
    guard.check_alerts(final=True)
    assert submitted(alerts, "new_destination") == []  # nothing to compare with yet
    await guard.tick()
    for frame in rest:
        guard.on_record(frame)
    guard.check_alerts(final=True)
    seen_first = {
        (d.device, d.host or d.address) for d in analyze_frames(first, guard.engine.devices, []).destinations
    }
    later = {
        (d.device, d.host or d.address) for d in guard.engine.destinations.values() if d.scope == "public"
    }
    alerted = {(a["device"], a.get("host") or a["address"]) for a in submitted(alerts, "new_destination")}
    assert alerted and alerted == later - seen_first


def stored_runs(store: Engine) -> list[repository.PrivacyRun]:
    with session_factory(store)() as session:
        return repository.list_runs(session)


def stored_records(store: Engine, run_id: int, kind: str) -> list[dict[str, Any]]:
    with session_factory(store)() as session:
        return repository.run_records(session, run_id, kind)


async def test_the_live_run_is_stored_each_interval_and_replaced(
    capture: Path, devices_file: Path, privacy_engine: Engine
) -> None:
    guard = LivePrivacy(Settings(privacy=PrivacySettings(devices_file=devices_file)), privacy_engine)
    frames = replay(capture)
    for frame in frames[:200]:
        guard.on_record(frame)
    await guard.tick()
    [first] = stored_runs(privacy_engine)  # stored while serve runs: a crash from here loses the rest only
    assert (first.source, first.frames) == ("live", 200)
    for frame in frames[200:]:
        guard.on_record(frame)
    await guard.tick()
    [second] = stored_runs(privacy_engine)  # the same live run, brought up to date
    expected = analyze_frames(frames, guard.engine.devices, guard.policies)
    assert second.id != first.id and second.frames == 460
    assert stored_records(privacy_engine, second.id, "destinations") == [
        d.to_json() for d in expected.destinations
    ]
    assert stored_records(privacy_engine, second.id, "leaks") == [leak.to_json() for leak in expected.leaks]
    await guard.tick()
    await guard.stop()  # nothing new since: nothing stored again
    assert [run.id for run in stored_runs(privacy_engine)] == [second.id]


async def test_the_periodic_task_stores_and_ends_at_stop(capture: Path, privacy_engine: Engine) -> None:
    guard = LivePrivacy(Settings(privacy=PrivacySettings(policies=["de"])), privacy_engine)
    guard.run_periodically(interval=0)  # rounds back to back: no waiting in the test
    task = guard.periodic_task
    assert task is not None
    for frame in replay(capture):
        guard.on_record(frame)
    while guard.rounds == 0:
        assert not task.done()
        await asyncio.sleep(0)
    [run] = stored_runs(privacy_engine)  # stored by the task, before stop
    assert run.frames == 460 and run.policies == ["de"]
    await guard.stop()
    assert task.done() and [r.id for r in stored_runs(privacy_engine)] == [run.id]


async def test_start_runs_the_periodic_task_until_stop(tmp_path: Path, privacy_engine: Engine) -> None:
    settings = Settings(data_dir=tmp_path, privacy=PrivacySettings(store_interval_s=600))
    guard = start(settings, privacy_engine)
    task = guard.periodic_task
    assert task is not None and not task.done()
    await guard.stop()
    assert task.done() and guard.rounds == 0 and stored_runs(privacy_engine) == []


async def test_a_changed_stored_inventory_starts_a_new_run(capture: Path, privacy_engine: Engine) -> None:
    with session_factory(privacy_engine)() as session, session.begin():
        repository.add_device(session, {"name": "nokia", "ip": "198.51.100.11", "imei": "352099001761481"})
    guard = LivePrivacy(Settings(privacy=PrivacySettings()), privacy_engine)
    frames = replay(capture)
    for frame in frames:
        guard.on_record(frame)
    engine = guard.engine
    await guard.tick()
    assert guard.engine is engine  # nothing changed
    with session_factory(privacy_engine)() as session, session.begin():
        repository.add_device(session, {"name": "guest", "ip": "198.51.100.13"})
    await guard.tick()
    assert guard.engine is not engine and [d.name for d in guard.engine.devices] == ["guest", "nokia"]
    for frame in frames:
        guard.on_record(frame)
    await guard.stop()
    newer, older = stored_runs(privacy_engine)
    assert {d["device"] for d in stored_records(privacy_engine, older.id, "destinations")} == {"nokia"}
    assert {d["device"] for d in stored_records(privacy_engine, newer.id, "destinations")} == {
        "nokia",
        "guest",
    }

    engine = guard.engine  # an edit that keeps the count (a new address) is a change too
    with session_factory(privacy_engine)() as session, session.begin():
        row = repository.get_device(session, "guest")
        assert row is not None
        repository.replace_device(session, row, {"name": "guest", "ip": "198.51.100.14"})
    await guard.tick()
    assert guard.engine is not engine and guard.engine.table.by_ip["198.51.100.14"] == "guest"


async def test_a_broken_inventory_file_keeps_the_old_one(
    tmp_path: Path, devices_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inventory = tmp_path / "devices.json"
    inventory.write_text(devices_file.read_text())
    guard = LivePrivacy(Settings(privacy=PrivacySettings(devices_file=inventory)))
    engine = guard.engine
    inventory.write_text('[{"name": "x", "imei": "123"}')
    with caplog.at_level(logging.WARNING):
        await guard.tick()
    assert guard.engine is engine and f"{inventory}: not valid JSON" in caplog.text
    inventory.write_text(json.dumps([{"name": "only", "ip": "198.51.100.11"}]))
    await guard.tick()
    assert [d.name for d in guard.engine.devices] == ["only"]


async def test_stored_inventory_and_snapshot_stored_at_stop(capture: Path, privacy_engine: Engine) -> None:
    with session_factory(privacy_engine)() as session, session.begin():
        repository.add_device(session, {"name": "nokia", "ip": "198.51.100.11", "imei": "352099001761481"})
    guard = LivePrivacy(Settings(privacy=PrivacySettings(policies=["de"])), privacy_engine)
    for frame in replay(capture):
        guard.on_record(frame)
    guard.on_record("something else")
    await guard.stop()
    [run] = stored_runs(privacy_engine)
    with session_factory(privacy_engine)() as session:
        leaks = repository.run_records(session, run.id, "leaks", device="nokia", confidence="high")
    assert (guard.frames, guard.ignored) == (460, 1)
    assert (
        run.source == "live" and run.policies == ["de"] and {leak["identifier"] for leak in leaks} == {"imei"}
    )


async def test_metrics_report_flow_evictions(capture: Path, devices_file: Path) -> None:
    guard = LivePrivacy(Settings(privacy=PrivacySettings(devices_file=devices_file)))
    guard.engine = PrivacyEngine(guard.engine.devices, max_flows=2)  # far fewer flows than the capture has
    await through_live_feeder(guard, replay(capture))
    assert guard.metrics()["evictions_flows"] > 0
