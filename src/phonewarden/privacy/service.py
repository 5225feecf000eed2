"""Compose the privacy monitor: capture -> engine -> verdicts, alerts, summary. What CLI and API call."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phonewarden.capture.replay import CaptureReplay
from phonewarden.core.records import Frame, iso_time
from phonewarden.privacy.detect_new import Baseline, new_destinations
from phonewarden.privacy.dnslogs import NameAnswer, read_dns_log
from phonewarden.privacy.engine import PrivacyEngine
from phonewarden.privacy.findings import Destination, Leak, NewDestination, Verdict
from phonewarden.privacy.geo import data_sources
from phonewarden.privacy.inventory import Device
from phonewarden.privacy.policy import Policy, verdicts
from phonewarden.privacy.zeeklogs import ConnFlow, TlsName, read_conn_log, read_ssl_log


@dataclass(slots=True)
class Summary:
    time_seen: float
    devices: dict[str, dict[str, Any]]
    frames: int
    anomalies: dict[str, int]
    sources: dict[str, str] = field(default_factory=data_sources)

    @property
    def type(self) -> str:
        return "summary"

    @property
    def time(self) -> float:
        return self.time_seen

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "summary",
            "time": iso_time(self.time_seen),
            "frames": self.frames,
            "devices": self.devices,
            "data_sources": self.sources,
            "anomalies": dict(sorted(self.anomalies.items())),
        }


@dataclass(slots=True)
class Analysis:
    destinations: list[Destination]
    leaks: list[Leak]
    verdicts: list[Verdict]
    alerts: list[NewDestination]
    summary: Summary

    def records(self) -> Iterable[Any]:
        yield from self.destinations
        yield from self.leaks
        yield from self.alerts
        yield from self.verdicts
        yield self.summary


def device_summary(device: str, destinations: list[Destination], leaks: list[Leak]) -> dict[str, Any]:
    mine = [d for d in destinations if d.device == device]
    total = sum(d.bytes_out + d.bytes_in for d in mine)
    opaque = sum(d.bytes_out + d.bytes_in for d in mine if d.opaque)
    public = [d for d in mine if d.scope == "public"]
    return {
        "destinations": len(mine),
        "public_destinations": len(public),
        "countries": sorted({d.country for d in public if d.country}),
        "bytes_out": sum(d.bytes_out for d in mine),
        "bytes_in": sum(d.bytes_in for d in mine),
        "opaque_share": round(opaque / total, 4) if total else 0.0,
        "leaks_high": sum(1 for leak in leaks if leak.device == device and leak.confidence == "high"),
        "leaks_low": sum(1 for leak in leaks if leak.device == device and leak.confidence == "low"),
    }


def analyze_frames(
    frames: Iterable[Frame],
    devices: list[Device],
    policies: list[Policy],
    baseline: Baseline | None = None,
    names: Iterable[NameAnswer] = (),
    conns: Iterable[ConnFlow] = (),
    tls_names: Iterable[TlsName] = (),
) -> Analysis:
    engine = PrivacyEngine(devices)
    engine.learn_names(names)
    engine.learn_zeek(conns, tls_names)
    with _no_cycle_collection():
        count = engine.feed_all(frames)
    engine.name_from_tls_logs()
    return finish(engine, count, policies, baseline)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The engine makes no reference cycles, but its many live flow objects made the cyclic collector's
    full passes cost ~20% of a replay (measured with cProfile and gc.disable, 2026-11-25)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def finish(engine: PrivacyEngine, frames: int, policies: list[Policy], baseline: Baseline | None) -> Analysis:
    destinations = sorted(engine.destinations.values(), key=lambda d: (d.device, d.first_seen))
    leaks = sorted(engine.leaks.values(), key=lambda leak: leak.time_seen)
    names = [d.name for d in engine.devices] or sorted({d.device for d in destinations})
    now = engine.last_time
    judged = [verdict for policy in policies for verdict in verdicts(policy, destinations, names, now)]
    alerts = new_destinations(baseline, destinations) if baseline is not None else []
    summary = Summary(
        now,
        {name: device_summary(name, destinations, leaks) for name in names},
        frames,
        dict(engine.anomalies),
    )
    return Analysis(destinations, leaks, judged, alerts, summary)


def analyze_capture(
    path: Path | None,
    devices: list[Device],
    policies: list[Policy],
    baseline: Baseline | None = None,
    dns_logs: Iterable[Path] = (),
    zeek_conn: Iterable[Path] = (),
    zeek_ssl: Iterable[Path] = (),
) -> Analysis:
    """A capture, Zeek logs, or both (conn.log flows are added to the capture's: give one or the other
    for the same traffic, or bytes are counted twice)."""
    names = [answer for log in dns_logs for answer in read_dns_log(log)]
    conns = [flow for log in zeek_conn for flow in read_conn_log(log)]
    tls_names = [entry for log in zeek_ssl for entry in read_ssl_log(log)]
    frames = CaptureReplay(path) if path is not None else ()
    return analyze_frames(frames, devices, policies, baseline, names, conns, tls_names)
