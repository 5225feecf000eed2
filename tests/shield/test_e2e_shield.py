"""End to end on real peers: Kamailio traces SIP over HEP to `phonewarden serve`, which bans SIPVicious and a
slow brute-forcer through nftables and Kamailio's htable, while phones (20 behind one NAT address) and an
OPTIONS health checker keep working. Topology: tests/shield/e2e_lab.py."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from phonewarden.shield.enforce_kamailio import KamailioEnforcer
from phonewarden.shield.enforce_nft import NftEnforcer
from phonewarden.shield.settings import ShieldSettings
from tests.conftest import REPO
from tests.shield.e2e_lab import (
    ATTACKERS,
    BENIGN,
    HOSTS,
    LAB_PHONES,
    NAT_PHONES,
    SERVER_FOR_ATTACKERS,
    SIP_PORT,
    Phonewarden,
    SipPeers,
    ban_latencies,
)
from tests.shield.kamailio_lab import answers_options
from tests.shield.netns import NetLab, require_tool

PROBES = [f"203.0.113.{n}" for n in range(100, 106)]  # one deciding packet each (latency, unban)
LAB_HOSTS = {**HOSTS, "probe": [f"{address}/24" for address in PROBES]}


@dataclass
class Lab:
    net: NetLab
    peers: SipPeers
    phonewarden: Phonewarden
    config: Path

    def address(self, host: str) -> str:
        return self.net.address(host)

    def nft_bans(self) -> dict[str, float]:
        return NftEnforcer(table="phonewarden", netns=self.net.ns("srv")).active()

    def kamailio_bans(self) -> dict[str, float]:
        return self.net.call_in("srv", lambda: KamailioEnforcer("http://127.0.0.1:5071/RPC").active())

    def answered(self, host: str, n: str) -> bool:
        with self.net.socket(host) as sock:
            sock.bind((self.address(host), 0))
            return answers_options(sock, (SERVER_FOR_ATTACKERS, SIP_PORT), n, wait_s=0.5)

    def cli(self, *args: str) -> str:
        argv = [str(REPO / ".venv" / "bin" / "phonewarden"), "--config", str(self.config), "shield", *args]
        return self.net.run("srv", argv, timeout=30).stdout


def eventually(check: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Enforcement runs in phonewarden's worker thread: give it a moment, bounded."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    for tool in ("nft", "kamailio", "sipp", "sipvicious_svmap"):
        require_tool(tool)
    workdir = tmp_path_factory.mktemp("e2e")
    with NetLab(LAB_HOSTS, tag=f"pw{os.getpid()}e") as net:
        peers = SipPeers(net, workdir)
        peers.start_kamailio()
        phonewarden = Phonewarden(net, workdir)
        phonewarden.start()
        yield Lab(net, peers, phonewarden, phonewarden.config)


@pytest.mark.peer
def test_every_attacker_is_banned_and_dropped_while_phones_keep_working(lab: Lab) -> None:
    peers = lab.peers
    assert peers.register("nat", NAT_PHONES) == 0, "20 phones behind one NAT address could not register"
    assert peers.register("phone", LAB_PHONES) == 0
    assert peers.options("mon", 10, 5) == 0
    assert lab.nft_bans() == {}, "benign traffic alone got something banned"
    # the NAT burst is over the lab's flood limit: reported, and not banned because its phones registered
    nat = lab.address("nat")
    assert eventually(lambda: f"not banning {nat} (trusted: registered " in lab.phonewarden.log_text()), (
        f"no trusted flood suppression for {nat}:\n{lab.phonewarden.log_text()[-3000:]}"
    )

    scanners = [
        peers.svmap(),
        peers.svwar("war", "REGISTER"),
        peers.svwar("wari", "INVITE"),
        peers.svcrack(["123456", "password", "101", "0000", "1111", "secret", "1234"]),
    ]
    peers.slow_bruteforce(7)
    for process in scanners:
        process.wait(timeout=30)

    attackers = {lab.address(host) for host in ATTACKERS}
    eventually(lambda: attackers <= set(lab.nft_bans()) and attackers <= set(lab.kamailio_bans()))
    nft_bans, kamailio_bans = lab.nft_bans(), lab.kamailio_bans()
    benign = {lab.address(host) for host in BENIGN}
    assert attackers <= set(nft_bans), f"not banned in nftables: {attackers - set(nft_bans)}"
    assert attackers <= set(kamailio_bans), f"not banned in Kamailio: {attackers - set(kamailio_bans)}"
    assert not benign & set(nft_bans), f"benign hosts banned: {benign & set(nft_bans)}"

    for host in ATTACKERS:  # the kernel drops them before Kamailio sees anything
        assert not lab.answered(host, f"after-ban-{host}"), f"{host} still answered after its ban"
    assert NftEnforcer(table="phonewarden", netns=lab.net.ns("srv")).dropped_packets() >= len(ATTACKERS)
    assert peers.register("nat", NAT_PHONES) == 0, "NAT phones stopped registering after the attack"
    assert peers.register("phone", LAB_PHONES) == 0
    assert peers.options("mon", 5, 5) == 0

    listed = [json.loads(line) for line in lab.cli("bans", "--json").splitlines()]
    reasons = {row["address"]: row["reasons"] for row in listed}
    assert attackers <= set(reasons) and all(reasons[address] for address in attackers)
    assert any("scanner" in reason for reason in reasons[lab.address("scan")])
    assert any("brute" in reason for reason in reasons[lab.address("slow")]), reasons[lab.address("slow")]
    # svcrack is banned as a scanner on its first REGISTER; the guesses that reached Kamailio before the nft
    # element landed (a race: a few milliseconds) add brute force to the stored ban only if there were enough
    crack = lab.address("crack")
    kamailio_log = (lab.peers.workdir / "kamailio.log").read_text(errors="replace")
    guesses = kamailio_log.count(f"bad password for 101 from {crack}:")
    crack_brute = any("brute" in reason for reason in reasons[crack])
    assert crack_brute == (guesses >= ShieldSettings().auth_failures), (guesses, reasons[crack])


@pytest.mark.peer
def test_deciding_packet_to_nft_element_is_fast(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    latencies = ban_latencies(lab.net, "probe", PROBES[:5])
    with capsys.disabled():
        print(f"\nshield live: deciding packet -> nft element, ms: {[round(x * 1000, 1) for x in latencies]}")
    # the bench (bench/shield_live_latency.py) holds the 100 ms median target; here a busy CI gets slack
    assert statistics.median(latencies) < 0.5
    assert set(PROBES[:5]) <= set(lab.nft_bans())


@pytest.mark.peer
def test_operator_unban_lifts_the_ban_everywhere(lab: Lab) -> None:
    address = PROBES[5]
    ban_latencies(lab.net, "probe", [address])
    assert eventually(lambda: address in lab.kamailio_bans() and address in lab.cli("bans"))
    assert address in lab.nft_bans()
    assert f"unbanned {address}" in lab.cli("unban", address)
    assert address not in lab.nft_bans()
    assert address not in lab.kamailio_bans()
    with lab.net.socket("probe") as sock:
        sock.bind((address, 0))
        assert answers_options(sock, (SERVER_FOR_ATTACKERS, SIP_PORT), "unbanned", wait_s=0.5)
