from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from phonewarden.privacy import repository
from phonewarden.privacy.inventory import InventoryError, load_inventory
from phonewarden.privacy.policy import parse_policy
from phonewarden.privacy.service import analyze_capture
from phonewarden.store.engine import make_engine, session_factory
from phonewarden.store.errors import StoreError


def test_inventory_crud_validates_like_the_file(privacy_engine: Engine) -> None:
    with session_factory(privacy_engine)() as session, session.begin():
        repository.add_device(session, {"name": "a", "ip": "198.51.100.7", "imei": "35-209900-176148-1"})
        with pytest.raises(InventoryError, match=r"field 'imei'"):
            repository.add_device(session, {"name": "b", "ip": "198.51.100.8", "imei": "352099001761482"})
        with pytest.raises(repository.InventoryConflict, match="already exists"):
            repository.add_device(session, {"name": "a", "mac": "4c:bc:98:12:34:56"})
        with pytest.raises(repository.InventoryConflict, match=r"198\.51\.100\.7"):
            repository.add_device(session, {"name": "c", "ip": "198.51.100.7"})
    with session_factory(privacy_engine)() as session:
        [device] = repository.inventory(session)
    assert device.identifiers == {"imei": ["352099001761481"]} and device.ips == ["198.51.100.7"]


def test_saved_run_returns_the_cli_records_and_becomes_the_baseline(
    privacy_engine: Engine, capture: Path, devices_file: Path
) -> None:
    analysis = analyze_capture(capture, load_inventory(devices_file), [parse_policy("eu")])
    run_id = repository.save_to_store(privacy_engine, analysis, str(capture), ["eu"])
    with session_factory(privacy_engine)() as session:
        leaks = repository.run_records(session, run_id, "leaks", device="nokia-7-plus", confidence="high")
        verdicts = repository.run_records(session, run_id, "verdicts", status="violation")
        [run] = repository.list_runs(session)
    expected = [
        leak.to_json()
        for leak in analysis.leaks
        if leak.device == "nokia-7-plus" and leak.confidence == "high"
    ]
    assert leaks == expected and leaks
    assert {v["device"] for v in verdicts} == {v.device for v in analysis.verdicts if v.status == "violation"}
    assert run.frames == 460 and run.summary["type"] == "summary"
    _, baseline = repository.load_from_store(privacy_engine)
    assert baseline is not None and ("nokia-7-plus", "zzhc.vnet.cn") in baseline.places


def test_unmigrated_database_says_what_to_run(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(StoreError, match="phonewarden db upgrade"):
        repository.load_from_store(engine)
    engine.dispose()
