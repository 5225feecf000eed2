"""The privacy sample: stored through the repository on SQLite and PostgreSQL, and realistic: the requests
it says its devices sent, run through the real engine, give exactly the leaks it stores."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime

from sqlalchemy import Engine

from phonewarden.privacy import demo, repository
from phonewarden.privacy.inventory import parse_inventory
from phonewarden.privacy.service import analyze_frames
from phonewarden.store.engine import session_factory
from tests.privacy.frames import connection

DOCUMENTATION = [ipaddress.ip_network(net) for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]


def test_load_stores_the_inventory_and_a_run(privacy_engine: Engine) -> None:
    now = datetime.now(UTC)
    line = demo.load(privacy_engine, random.Random(8), now)
    assert line == "4 devices, 3 leaks (2 certain), 1 violating the EU/EEA policy"
    with session_factory(privacy_engine)() as session:
        names = [device.name for device in repository.inventory(session)]
        [run] = repository.list_runs(session)
        leaks = repository.run_records(session, run.id, "leaks")
        verdicts = {v["device"]: v["status"] for v in repository.run_records(session, run.id, "verdicts")}
        destinations = repository.run_records(session, run.id, "destinations")
    assert names == ["gigaset-n670", "nokia-7-plus", "snom-d785", "yealink-t54w"]
    imei = next(leak for leak in leaks if leak["identifier"] == "imei")
    assert (imei["device"], imei["encoding"], imei["country"], imei["host"]) == (
        "nokia-7-plus", "base64", "CN", "zzhc.vnet.cn")  # fmt: skip
    assert verdicts == {"nokia-7-plus": "violation", "snom-d785": "ok", "yealink-t54w": "uncertain",
                        "gigaset-n670": "ok"}  # fmt: skip
    assert {d["country"] for d in destinations if d["device"] == "snom-d785"} == {"DE"}
    for record in destinations:
        assert any(ipaddress.ip_address(record["address"]) in net for net in DOCUMENTATION), record
        assert (
            now.timestamp() - 86_400
            <= datetime.fromisoformat(record["first_seen"]).timestamp()
            <= now.timestamp()
        )
    assert run.source == "demo" and run.summary["devices"]["nokia-7-plus"]["leaks_high"] == 1


def test_loading_twice_keeps_the_inventory_and_adds_a_run(privacy_engine: Engine) -> None:
    with session_factory(privacy_engine).begin() as session:  # an operator's own phone on a sample address
        repository.add_device(session, {"name": "my-phone", "ip": "198.51.100.61"})
    for seed in (8, 9):
        demo.load(privacy_engine, random.Random(seed), datetime.now(UTC))
    with session_factory(privacy_engine)() as session:
        names = [device.name for device in repository.inventory(session)]
        assert len(repository.list_runs(session)) == 2
    assert names == ["gigaset-n670", "my-phone", "nokia-7-plus", "yealink-t54w"]  # snom-d785's ip was taken


def test_the_sample_leaks_are_what_the_engine_finds_in_the_sample_requests() -> None:
    inventory = parse_inventory(demo.INVENTORY, "demo inventory")
    ips = {str(entry["name"]): str(entry["ip"]) for entry in demo.INVENTORY}
    stored = {
        (leak.device, leak.destination.address): leak
        for leak in demo.sample(random.Random(8), datetime.now(UTC)).leaks
    }
    assert set(stored) == set(demo.REQUESTS)
    for (device, address), (request, *_) in demo.REQUESTS.items():
        analysis = analyze_frames(connection(ips[device], address, 80, [request]), inventory, [])
        [found] = analysis.leaks
        mine = stored[device, address]
        assert (found.device, found.identifier, found.encoding, found.confidence, found.field_name) == (
            mine.device, mine.identifier, mine.encoding, mine.confidence, mine.field_name)  # fmt: skip
        if found.confidence == "high":
            assert found.evidence == mine.evidence
