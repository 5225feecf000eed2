"""/metrics in the Prometheus text format: traffic, records, findings, bans, evictions, alert outboxes.

Values are read when scraped (a custom collector), so nothing has to be kept in step: the HEP
listener's and live capture's counters, findings per guard and active bans from the database, and
`evictions` from every live guard that offers `metrics() -> dict[str, float]`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from phonewarden.console.overview import TILES_BY_KEY, tile_count
from phonewarden.store.engine import session_factory
from phonewarden.store.models import Finding


class ConsoleCollector(Collector):
    def __init__(
        self,
        engine: Engine,
        hep_stats: Callable[[], dict[str, Any] | None],
        frames: Callable[[], int | None],
        live_metrics: Callable[[], dict[str, dict[str, float]]],
        outbox_root: Path | None = None,
    ) -> None:
        self.engine, self.hep_stats, self.frames, self.live_metrics = engine, hep_stats, frames, live_metrics
        self.outbox_root = outbox_root

    def collect(self) -> Iterator[Metric]:
        hep = self.hep_stats()
        packets = CounterMetricFamily("phonewarden_hep_packets", "HEP packets received", labels=["outcome"])
        records = CounterMetricFamily(
            "phonewarden_records", "Records decoded and fed to the guards", labels=["source"]
        )
        if hep is not None:
            packets.add_metric(["accepted"], float(hep.get("packets", 0)))
            packets.add_metric(["dropped"], float(hep.get("dropped", 0)))
            records.add_metric(["hep"], float(hep.get("sip_messages", 0)))
        yield packets
        yield records
        frames = self.frames()
        captured = CounterMetricFamily("phonewarden_capture_frames", "Frames from live capture")
        if frames is not None:
            captured.add_metric([], float(frames))
        yield captured
        yield self._findings()
        bans = GaugeMetricFamily("phonewarden_active_bans", "Active bans of the shield")
        count = tile_count(TILES_BY_KEY["bans"], self.engine, datetime.now(UTC))
        if count is not None:
            bans.add_metric([], float(count))
        yield bans
        evictions = CounterMetricFamily(
            "phonewarden_evictions", "Entries evicted from bounded tables", labels=["guard", "table"]
        )
        for guard, values in sorted(self.live_metrics().items()):
            for name, value in sorted(values.items()):
                if name.startswith("evictions"):
                    evictions.add_metric([guard, name.removeprefix("evictions").strip("_.") or "all"], value)
        yield evictions
        depth = GaugeMetricFamily(
            "phonewarden_queue_depth", "Items waiting in a live guard's queue", labels=["guard"]
        )
        dropped = CounterMetricFamily(
            "phonewarden_dropped", "Items a full live queue dropped", labels=["guard"]
        )
        for guard, values in sorted(self.live_metrics().items()):
            if "queue_depth" in values:
                depth.add_metric([guard], values["queue_depth"])
            if "dropped" in values:
                dropped.add_metric([guard], values["dropped"])
        yield depth
        yield dropped
        yield self._outboxes()

    def _outboxes(self) -> Metric:
        """Alerts not yet delivered, per target: `pending` (being retried) and `dead` (given up, kept)."""
        family = GaugeMetricFamily(
            "phonewarden_alert_outbox", "Alerts waiting in the outbox", labels=["target", "state"]
        )
        if self.outbox_root is not None and self.outbox_root.is_dir():
            for folder in sorted(path for path in self.outbox_root.iterdir() if path.is_dir()):
                family.add_metric([folder.name, "pending"], float(sum(1 for _ in folder.glob("*.json"))))
                dead = folder / "dead"
                family.add_metric([folder.name, "dead"], float(sum(1 for _ in dead.glob("*.json"))))
        return family

    def _findings(self) -> Metric:
        family = GaugeMetricFamily("phonewarden_findings", "Findings stored, per guard", labels=["guard"])
        try:
            with session_factory(self.engine)() as session:
                rows = session.execute(select(Finding.guard, func.count()).group_by(Finding.guard)).all()
        except (OperationalError, ProgrammingError):
            rows = []
        for guard, count in rows:
            family.add_metric([str(guard)], float(count))
        return family


def registry_for(collector: ConsoleCollector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
