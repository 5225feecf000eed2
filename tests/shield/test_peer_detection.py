"""Real peers on loopback: Kamailio (digest-auth registrar, siptrace HEP), sipp phones, SIPVicious.

Benign: twenty phones behind one address registering within a second, an OPTIONS health checker.
Attackers: svmap, svwar (REGISTER and INVITE), svcrack, and a slow brute-forcer with a Yealink User-Agent.
Every attacker must be banned, no benign host may be.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phonewarden.shield.service import ShieldService
from phonewarden.shield.settings import ShieldSettings
from phonewarden.wire.traffic import TrafficDecoder
from tests.shield.sip_lab import HepCollector, registrar, sipp_options, sipp_register, sipvicious

pytestmark = pytest.mark.peer

NAT = "127.0.0.20"
HEALTH = "127.0.0.21"
ATTACKERS = {
    "127.0.0.31": "svmap",
    "127.0.0.32": "svwar REGISTER",
    "127.0.0.33": "svwar INVITE",
    "127.0.0.34": "svcrack",
    "127.0.0.35": "slow brute force, Yealink UA",
}
YEALINK_UA = "Yealink SIP-T46S 66.86.0.15"


@pytest.fixture(scope="module")
def lab_records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    workdir = tmp_path_factory.mktemp("shield-lab")
    collector = HepCollector()
    runs: dict[str, Any] = {}
    try:
        with registrar(workdir, collector.port) as server:
            nat_users = [(str(user), f"nat-{user}") for user in range(2001, 2021)]
            runs["nat"] = sipp_register(server, NAT, nat_users, "Yealink SIP-T46S 66.86.0.15", 40, workdir)
            runs["health"] = sipp_options(server, HEALTH, 10, workdir)
            runs["svmap"] = sipvicious("svmap", "127.0.0.31", server, workdir=workdir)
            runs["svwar"] = sipvicious(
                "svwar", "127.0.0.32", server, "-e", "100-140", "--maximumtime", "10", workdir=workdir
            )
            runs["svwar-invite"] = sipvicious(
                "svwar", "127.0.0.33", server, "-m", "INVITE", "-e", "100-130", "--maximumtime", "10",
                workdir=workdir,
            )  # fmt: skip
            (workdir / "dict.txt").write_text("".join(f"guess{n}\n" for n in range(12)) + "1234\n")
            runs["svcrack"] = sipvicious(
                "svcrack", "127.0.0.34", server, "-u", "101", "-d", str(workdir / "dict.txt"),
                "--maximumtime", "10", workdir=workdir,
            )  # fmt: skip
            wrong = [("alice", f"wrong{n}") for n in range(6)]
            runs["slow"] = sipp_register(server, "127.0.0.35", wrong, YEALINK_UA, 2, workdir)
    finally:
        collector.close()
    assert runs["nat"].returncode == 0, runs["nat"].stderr.decode()[-2000:]
    assert runs["health"].returncode == 0, runs["health"].stderr.decode()[-2000:]
    decoder = TrafficDecoder()
    records = [r for data, agent in collector.datagrams for r in decoder.hep_payload(data, agent)]
    assert records, f"no HEP from kamailio; see {workdir / 'kamailio.log'}"
    senders = {r.segment.src for r in records if r.body.status is None}
    silent = {name: run.stdout[-400:] + run.stderr[-800:] for name, run in runs.items()}
    assert {NAT, HEALTH, *ATTACKERS} <= senders, f"some peer sent nothing: {sorted(senders)}: {silent}"
    yield records


def _replay(records: list[Any], settings: ShieldSettings) -> ShieldService:
    service = ShieldService(settings)
    for record in sorted(records, key=lambda r: r.time):
        service.process(record)
    return service


def test_every_attacker_is_banned_and_no_benign_host(lab_records: list[Any]) -> None:
    service = _replay(lab_records, ShieldSettings())
    banned = set(service.banned)
    missing = {ip: what for ip, what in ATTACKERS.items() if ip not in banned}
    assert not missing, f"attackers not banned: {missing}; summary {service.summary().to_json()}"
    assert NAT not in banned and HEALTH not in banned, service.banned
    assert banned == set(ATTACKERS)


def test_twenty_phones_behind_one_address_registered_within_a_second(lab_records: list[Any]) -> None:
    nat = [r for r in lab_records if r.segment.dst == NAT and r.body.status == 200]
    assert len(nat) == 20, "all twenty NAT phones must have registered"
    assert max(r.time for r in nat) - min(r.time for r in nat) <= 1.5
    service = _replay(lab_records, ShieldSettings())
    assert service.policy.trust_reason(NAT, service.clock.now) is not None


def test_slow_brute_forcer_with_a_phone_user_agent_is_found_by_outcomes(lab_records: list[Any]) -> None:
    slow = [r for r in lab_records if r.segment.src == "127.0.0.35" and r.body.is_request]
    assert slow and all(r.body.user_agent == YEALINK_UA for r in slow)
    service = ShieldService(ShieldSettings())
    findings = []
    for record in sorted(lab_records, key=lambda r: r.time):
        findings += [o for o in service.process(record) if getattr(o, "source", "") == "127.0.0.35"]
    detectors = {getattr(f, "detector", None) for f in findings}
    assert "brute-force" in detectors and "scanner" not in detectors, findings


def test_cracked_password_is_critical_and_earns_no_trust(lab_records: list[Any]) -> None:
    service = ShieldService(ShieldSettings())
    critical = []
    for record in sorted(lab_records, key=lambda r: r.time):
        critical += [o for o in service.process(record) if getattr(o, "severity", "") == "critical"]
    assert [f.source for f in critical] == ["127.0.0.34"]
    assert service.policy.trust_reason("127.0.0.34", service.clock.now) is None


def test_a_higher_threshold_leaves_the_slow_brute_forcer_alone(
    lab_records: list[Any], tmp_path: Path
) -> None:
    # Guards the first test: the ban really comes from counting failures against the threshold.
    service = _replay(lab_records, ShieldSettings(auth_failures=50))
    assert "127.0.0.35" not in service.banned
