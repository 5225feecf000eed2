"""nftables back-end in a server namespace: bans drop real packets, even on established UDP flows."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from itertools import count

import pytest

from phonewarden.shield.enforce import EnforcementError
from phonewarden.shield.enforce_nft import NftEnforcer, element_key
from tests.shield.netns import NetLab, UdpEcho, answered, require_tool

HOSTS = {
    "srv": ["198.51.100.10/24", "2001:db8:51::10/64", "2001:db8:66::10/64"],
    "atk": ["198.51.100.66/24", "2001:db8:66::66/64", "2001:db8:66::67/64"],
    "phone": ["198.51.100.20/24", "2001:db8:51::20/64"],
}
# What a typical host firewall does first (firewalld/ufw): accept established flows. fail2ban's bans used to
# sit behind such a rule, so a scanner keeping its UDP source port was never cut off (fail2ban #2503).
HOST_FIREWALL = """table inet hostfw {
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
    iif lo accept
    meta l4proto ipv6-icmp accept
    udp dport 5060 accept
  }
}"""
SERVER4 = ("198.51.100.10", 5060)
SERVER6 = ("2001:db8:51::10", 5060)
SERVER6_ATK = ("2001:db8:66::10", 5060)
payloads = (f"probe-{n}".encode() for n in count())


@pytest.fixture(scope="module")
def netlab() -> Iterator[NetLab]:
    require_tool("nft")
    with NetLab(HOSTS, tag=f"pw{os.getpid()}n") as made:
        made.run("srv", ["nft", "-f", "-"], stdin=HOST_FIREWALL)
        yield made


@pytest.fixture(scope="module")
def echo(netlab: NetLab) -> Iterator[UdpEcho]:
    server = UdpEcho(netlab, "srv")
    yield server
    server.close()


@pytest.fixture
def enforcer(netlab: NetLab) -> Iterator[NftEnforcer]:
    made = NftEnforcer(table="pwshield", netns=netlab.ns("srv"))
    made.start()
    yield made
    made.remove()


def bound(netlab: NetLab, host: str, address: str) -> socket.socket:
    sock = netlab.socket(host, socket.AF_INET6 if ":" in address else socket.AF_INET)
    sock.bind((address, 0))
    return sock


def reaches(sock: socket.socket, server: tuple[str, int]) -> bool:
    # two tries: the first IPv6 datagram may wait for neighbour discovery
    return answered(sock, server, next(payloads)) or answered(sock, server, next(payloads))


@pytest.mark.peer
def test_ban_cuts_an_established_udp_flow_and_spares_the_phone(
    netlab: NetLab, echo: UdpEcho, enforcer: NftEnforcer
) -> None:
    attacker, phone = bound(netlab, "atk", "198.51.100.66"), bound(netlab, "phone", "198.51.100.20")
    with attacker, phone:
        assert reaches(attacker, SERVER4) and reaches(phone, SERVER4), "lab network does not pass UDP"
        # the flow is now "established" for the host firewall; the same source port keeps sending
        enforcer.ban("198.51.100.66", 60, "scanner: friendly-scanner")
        assert not answered(attacker, SERVER4, next(payloads)), "banned source still answered on its old flow"
        assert reaches(phone, SERVER4), "the phone was cut off too"
        assert enforcer.dropped_packets() >= 1
        assert 55 <= enforcer.active()["198.51.100.66"] <= 60
        enforcer.unban("198.51.100.66")
        assert reaches(attacker, SERVER4), "unbanned source still dropped"
        assert "198.51.100.66" not in enforcer.active()


@pytest.mark.peer
def test_expiry_removes_the_element_and_traffic_passes_again(
    netlab: NetLab, echo: UdpEcho, enforcer: NftEnforcer
) -> None:
    with bound(netlab, "atk", "198.51.100.66") as attacker:
        enforcer.ban("198.51.100.66", 1, "flood")
        assert not answered(attacker, SERVER4, next(payloads))
        time.sleep(1.3)
        assert "198.51.100.66" not in enforcer.active()
        assert reaches(attacker, SERVER4), "expired ban still drops"


@pytest.mark.peer
def test_ipv6_slash64_ban_covers_every_address_in_it(
    netlab: NetLab, echo: UdpEcho, enforcer: NftEnforcer
) -> None:
    first, second = bound(netlab, "atk", "2001:db8:66::66"), bound(netlab, "atk", "2001:db8:66::67")
    phone = bound(netlab, "phone", "2001:db8:51::20")
    with first, second, phone:
        assert reaches(first, SERVER6_ATK) and reaches(phone, SERVER6), "lab network does not pass IPv6 UDP"
        enforcer.ban("2001:db8:66::/64", 60, "flood from a /64")
        assert "2001:db8:66::/64" in enforcer.active()
        assert not answered(first, SERVER6_ATK, next(payloads))
        assert not answered(second, SERVER6_ATK, next(payloads)), "another address of the /64 got through"
        assert reaches(phone, SERVER6), "a phone outside the /64 was cut off"


@pytest.mark.peer
def test_rebanning_refreshes_the_timeout_and_start_is_idempotent(
    netlab: NetLab, enforcer: NftEnforcer
) -> None:
    enforcer.ban("203.0.113.7", 5, "first")
    enforcer.ban("203.0.113.7", 300, "repeat offender")
    enforcer.start()  # a restart must keep the bans and not duplicate the rules
    assert enforcer.active()["203.0.113.7"] > 250
    rules = netlab.run("srv", ["nft", "list", "chain", "inet", "pwshield", "prerouting"]).stdout
    assert rules.count("drop") == 4
    assert "priority raw" in rules
    listing = netlab.run("srv", ["nft", "list", "set", "inet", "pwshield", "ban4"]).stdout
    assert 'comment "repeat offender"' in listing


@pytest.mark.peer
def test_stop_keeps_the_bans_remove_drops_them_and_errors_name_the_problem(netlab: NetLab) -> None:
    enforcer = NftEnforcer(table="pwshield2", netns=netlab.ns("srv"))
    enforcer.start()
    enforcer.ban("203.0.113.9", 300, "scanner")
    enforcer.stop()  # phonewarden stops: the kernel keeps dropping until the timeout
    assert 250 < NftEnforcer(table="pwshield2", netns=netlab.ns("srv")).active()["203.0.113.9"] <= 300
    enforcer.remove()
    enforcer.remove()  # twice is fine
    assert "pwshield2" not in netlab.run("srv", ["nft", "list", "tables"]).stdout
    with pytest.raises(EnforcementError, match=r"ban 203\.0\.113\.8 in table inet pwshield2"):
        enforcer.ban("203.0.113.8", 10, "no table")


def test_bad_input_never_reaches_nft() -> None:
    enforcer = NftEnforcer(table="never-created", netns="pw-no-such-namespace")
    for bad in ["", "198.51.100.300", "198.51.100.0/33", "0.0.0.0/0", "evil; rm -rf /"]:
        with pytest.raises(ValueError, match="ban address"):
            enforcer.ban(bad, 60, "x")
    with pytest.raises(ValueError, match="duration"):
        enforcer.ban("198.51.100.1", 0, "x")
    with pytest.raises(ValueError, match="nft_table"):
        NftEnforcer(table="t; flush ruleset")


def test_element_keys_are_canonical() -> None:
    assert element_key("2001:0db8::0001") == "2001:db8::1"
    assert element_key({"prefix": {"addr": "2001:db8:66::", "len": 64}}) == "2001:db8:66::/64"
    assert element_key({"range": ["203.0.113.0", "203.0.113.127"]}) == "203.0.113.0/25"
    with pytest.raises(EnforcementError, match="unexpected set element"):
        element_key({"concat": []})
