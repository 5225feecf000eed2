from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from phonewarden.console.metrics import ConsoleCollector, registry_for
from phonewarden.settings import Settings
from phonewarden.store.engine import make_engine, session_factory
from phonewarden.store.findings import add_finding
from phonewarden.store.models import Guard, Severity


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_read_hep_capture_findings_and_live_guard_evictions(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    with session_factory(engine).begin() as session:
        for guard in (Guard.SHIELD, Guard.SHIELD, Guard.FRAUD):
            add_finding(session, time=datetime.now(UTC), guard=guard, kind="k", subject="s",
                        severity=Severity.LOW, reason="r")  # fmt: skip
    collector = ConsoleCollector(
        engine,
        lambda: {"packets": 7, "dropped": 2, "sip_messages": 5},
        lambda: 11,
        lambda: {"shield": {"evictions_sources": 3.0, "bans": 9.0, "queue_depth": 4.0, "dropped": 1.0}},
        settings.data_dir / "outbox",
    )
    oncall = settings.data_dir / "outbox" / "oncall"
    (oncall / "dead").mkdir(parents=True)
    for name in ("1.json", "2.json", "dead/3.json"):
        (oncall / name).write_text("{}")
    samples = _samples(generate_latest(registry_for(collector)).decode())
    assert samples[("phonewarden_hep_packets_total", (("outcome", "accepted"),))] == 7
    assert samples[("phonewarden_hep_packets_total", (("outcome", "dropped"),))] == 2
    assert samples[("phonewarden_records_total", (("source", "hep"),))] == 5
    assert samples[("phonewarden_capture_frames_total", ())] == 11
    assert samples[("phonewarden_findings", (("guard", "shield"),))] == 2
    assert samples[("phonewarden_findings", (("guard", "fraud"),))] == 1
    assert samples[("phonewarden_active_bans", ())] == 0
    assert samples[("phonewarden_evictions_total", (("guard", "shield"), ("table", "sources")))] == 3
    assert not any(
        name == "phonewarden_evictions_total" and ("table", "bans") in labels for name, labels in samples
    )
    assert samples[("phonewarden_queue_depth", (("guard", "shield"),))] == 4
    assert samples[("phonewarden_dropped_total", (("guard", "shield"),))] == 1
    assert samples[("phonewarden_alert_outbox", (("state", "pending"), ("target", "oncall")))] == 2
    assert samples[("phonewarden_alert_outbox", (("state", "dead"), ("target", "oncall")))] == 1
    engine.dispose()
