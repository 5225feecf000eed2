"""The shield's demo sample: every banned address has findings with evidence the bans page can show."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from phonewarden.settings import Settings
from phonewarden.shield.bans import BanStore
from phonewarden.shield.demo import BANS, load
from phonewarden.shield.pages import evidence_by_source
from phonewarden.store.engine import make_engine
from phonewarden.store.migrate import upgrade


def test_demo_bans_come_with_evidence(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    line = load(engine, random.Random(1), datetime.now(UTC))
    bans = BanStore(engine).active_bans()
    assert len(bans) == BANS and line.startswith(f"{BANS} bans")
    evidence = evidence_by_source(engine, [ban.address for ban in bans])
    assert set(evidence) == {ban.address for ban in bans}
    assert all(samples and "sip.example.net" in samples[0] for _, samples in evidence.values())
    engine.dispose()
