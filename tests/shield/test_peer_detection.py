"""Real peers on loopback: Kamailio (digest-auth registrar, siptrace HEP), sipp phones, SIPVicious.

Benign: twenty phones behind one address registering within a second, an OPTIONS health checker.
Attackers: svmap, svwar (REGISTER and INVITE), svcrack, and a slow brute-forcer with a Yealink User-Agent.
Every attacker must be banned, no benign host may be. A second run patches SIPVicious' User-Agent to a
phone's (tools/shield/sv_bound.py --user-agent) and adds guessers that spread their wrong passwords for one
username over six addresses: structure and the server's answers must still ban them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phonewarden.shield.detect_scanner import ScannerDetector
from phonewarden.shield.findings import Finding
from phonewarden.shield.policy import Decision
from phonewarden.shield.service import ShieldService
from phonewarden.shield.settings import ShieldSettings
from phonewarden.wire.traffic import TrafficDecoder
from tests.shield.sip_lab import (
    TOOLS,
    VENV_BIN,
    HepCollector,
    registrar,
    require,
    run,
    sipp_options,
    sipp_register,
    sipvicious,
)

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
# The same tools with a phone's User-Agent, and six guessers making two wrong guesses each at bob.
PATCHED = {
    "127.0.0.41": "svmap",
    "127.0.0.42": "svwar REGISTER",
    "127.0.0.43": "svwar INVITE",
    "127.0.0.44": "svcrack",
}
SPREAD = [f"127.0.0.{n}" for n in range(51, 57)]


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
    records = _decode(collector)
    assert records, f"no HEP from kamailio; see {workdir / 'kamailio.log'}"
    senders = {r.segment.src for r in records if r.body.status is None}
    silent = {name: run.stdout[-400:] + run.stderr[-800:] for name, run in runs.items()}
    assert {NAT, HEALTH, *ATTACKERS} <= senders, f"some peer sent nothing: {sorted(senders)}: {silent}"
    yield records


def _decode(collector: HepCollector) -> list[Any]:
    decoder = TrafficDecoder()
    return [r for data, agent in collector.datagrams for r in decoder.hep_payload(data, agent)]


def _patched_sipvicious(tool: str, local_ip: str, server: tuple[str, int], *args: str, workdir: Path) -> Any:
    require(f"sipvicious_{tool}")
    argv = [
        str(VENV_BIN / "python"), str(TOOLS / "sv_bound.py"), "--user-agent", YEALINK_UA, tool, local_ip,
        "-p", str(server[1]), *args, server[0],
    ]  # fmt: skip
    return run(argv, workdir)


@pytest.fixture(scope="module")
def patched_records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    workdir = tmp_path_factory.mktemp("shield-lab-patched")
    collector = HepCollector()
    runs: dict[str, Any] = {}
    try:
        with registrar(workdir, collector.port) as server:
            ip = {what: address for address, what in PATCHED.items()}
            runs["svmap"] = _patched_sipvicious("svmap", ip["svmap"], server, workdir=workdir)
            runs["svwar"] = _patched_sipvicious(
                "svwar", ip["svwar REGISTER"], server, "-e", "100-140", "--maximumtime", "10", workdir=workdir
            )
            runs["svwar-invite"] = _patched_sipvicious(
                "svwar", ip["svwar INVITE"], server, "-m", "INVITE", "-e", "100-130", "--maximumtime", "10",
                workdir=workdir,
            )  # fmt: skip
            (workdir / "dict.txt").write_text("".join(f"guess{n}\n" for n in range(12)) + "1234\n")
            runs["svcrack"] = _patched_sipvicious(
                "svcrack", ip["svcrack"], server, "-u", "101", "-d", str(workdir / "dict.txt"),
                "--maximumtime", "10", workdir=workdir,
            )  # fmt: skip
            for n, address in enumerate(SPREAD):
                wrong = [("bob", f"spread{n}-{k}") for k in range(2)]
                runs[address] = sipp_register(server, address, wrong, YEALINK_UA, 2, workdir)
    finally:
        collector.close()
    records = _decode(collector)
    assert records, f"no HEP from kamailio; see {workdir / 'kamailio.log'}"
    senders = {r.segment.src for r in records if r.body.status is None}
    silent = {name: run.stdout[-400:] + run.stderr[-800:] for name, run in runs.items()}
    assert {*PATCHED, *SPREAD} <= senders, f"some peer sent nothing: {sorted(senders)}: {silent}"
    yield records


def _replay(records: list[Any], settings: ShieldSettings) -> ShieldService:
    service = ShieldService(settings)
    for record in sorted(records, key=lambda r: r.time):
        service.process(record)
    return service


def _outputs(records: list[Any], settings: ShieldSettings) -> tuple[ShieldService, list[Finding | Decision]]:
    service = ShieldService(settings)
    outputs: list[Finding | Decision] = []
    for record in sorted(records, key=lambda r: r.time):
        outputs += service.process(record)
    return service, outputs


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


def test_the_nat_burst_over_the_flood_limit_is_suppressed_as_trusted_not_banned(
    lab_records: list[Any],
) -> None:
    # The 20 phones send 40 requests in about 0.5 s (sipp -r 40): with flood_requests = 25 (draining 12.5/s)
    # about 33 are in the bucket at the end, well over the limit. The NAT address must then be reported (the
    # finding is there) and not banned, because its phones registered.
    service, outputs = _outputs(lab_records, ShieldSettings(flood_requests=25))
    floods = [o for o in outputs if isinstance(o, Finding) and o.source == NAT]
    assert [f.detector for f in floods] == ["flood"], f"the NAT burst did not overflow 25: {floods}"
    assert NAT not in service.banned
    assert service.suppressed[NAT].startswith("trusted: registered "), service.suppressed
    assert set(ATTACKERS) <= set(service.banned)


def test_invites_to_unknown_extensions_are_refused_so_svwar_invite_enumerates(lab_records: list[Any]) -> None:
    answers = [r.body.status for r in lab_records if r.segment.dst == "127.0.0.33" and r.body.status]
    assert answers.count(404) >= 20, f"svwar -m INVITE got {answers}"
    _, outputs = _outputs(lab_records, ShieldSettings())
    detectors = {o.detector for o in outputs if isinstance(o, Finding) and o.source == "127.0.0.33"}
    assert "enumeration" in detectors, detectors


def _findings_by_source(outputs: list[Finding | Decision]) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    for output in outputs:
        if isinstance(output, Finding):
            found.setdefault(output.source, []).append(output)
    return found


def test_sipvicious_with_a_phone_user_agent_is_still_banned_by_structure_and_answers(
    patched_records: list[Any],
) -> None:
    requests = [r for r in patched_records if r.segment.src in PATCHED and r.body.status is None]
    assert requests and {r.body.user_agent for r in requests} == {YEALINK_UA}, "the User-Agent patch failed"
    service, outputs = _outputs(patched_records, ShieldSettings())
    found = _findings_by_source(outputs)
    missing = {ip: what for ip, what in PATCHED.items() if ip not in service.banned}
    assert not missing, f"not banned with a patched User-Agent: {missing}; findings {found}"
    for address in PATCHED:
        for finding in found[address]:
            prints = finding.evidence.get("fingerprints", [])
            assert not [p for p in prints if p.startswith("ua-")], (address, prints)
    detectors = {address: {f.detector for f in found[address]} for address in PATCHED}
    assert "scanner" in detectors["127.0.0.41"]  # one OPTIONS: only its structure can tell
    assert "enumeration" in detectors["127.0.0.42"] and "enumeration" in detectors["127.0.0.43"], detectors
    assert "brute-force" in detectors["127.0.0.44"], detectors


def test_patched_sipvicious_is_banned_even_without_the_scanner_fingerprints(
    patched_records: list[Any],
) -> None:
    # svwar and svcrack leave traces in the server's answers; svmap's single OPTIONS does not.
    settings = ShieldSettings()
    service = ShieldService(settings)
    service.scanner = ScannerDetector(service.scanner.reporter, fingerprints=[])
    for record in sorted(patched_records, key=lambda r: r.time):
        service.process(record)
    assert {"127.0.0.42", "127.0.0.43", "127.0.0.44"} <= set(service.banned), service.summary().to_json()
    assert "127.0.0.41" not in service.banned


def test_guesses_at_one_username_spread_over_six_addresses_ban_every_guesser(
    patched_records: list[Any],
) -> None:
    failures = {
        address: sum(1 for r in patched_records if r.segment.dst == address and r.body.status == 403)
        for address in SPREAD
    }
    assert all(0 < count < 5 for count in failures.values()), failures  # none reaches the per-source limit
    service, outputs = _outputs(patched_records, ShieldSettings())
    found = _findings_by_source(outputs)
    spread = {a: f for a in SPREAD for f in found.get(a, []) if f.detector == "brute-force"}
    assert spread and all(f.evidence["user"] == "bob" for f in spread.values()), spread
    brute = [f for a in SPREAD for f in found.get(a, []) if f.detector == "brute-force"]
    crossing = [f for f in brute if "guessers" in f.evidence]
    first = min(crossing, key=lambda f: f.time)
    assert first.evidence["failures"] >= 5 and first.evidence["sources"] >= 2
    # the one that crossed the limit names those before it, and all of them are banned with it
    crossed = SPREAD.index(first.source)
    assert set(first.evidence["guessers"]) == set(SPREAD[: crossed + 1])
    assert set(SPREAD) <= set(service.banned), (first, sorted(service.banned))
    # with the per-username count off (a limit no username reaches) the spread goes unbanned
    assert not set(SPREAD) & set(_replay(patched_records, ShieldSettings(auth_failures=50)).banned)
