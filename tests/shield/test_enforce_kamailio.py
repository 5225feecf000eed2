"""Kamailio back-end against a real Kamailio (jsonrpcs over HTTP on loopback): bans silence sources."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from itertools import count

import pytest

from phonewarden.shield.enforce import EnforcementError
from phonewarden.shield.enforce_kamailio import KamailioEnforcer, seconds_left
from tests.conftest import free_port, free_udp_and_tcp_port
from tests.shield.kamailio_lab import answers_options, start_kamailio, stop_kamailio, wait_answering

calls = count()


@pytest.fixture(scope="module")
def kamailio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[tuple[str, int], str]]:
    workdir = tmp_path_factory.mktemp("kamailio")
    sip_port, rpc_port = free_port(socket.SOCK_DGRAM), free_udp_and_tcp_port()
    process = start_kamailio(
        [f"udp:127.0.0.1:{sip_port}", f"udp:[::1]:{sip_port}", f"tcp:127.0.0.1:{rpc_port}"], workdir
    )
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            wait_answering(process, probe, ("127.0.0.1", sip_port), workdir / "kamailio.log")
        yield ("127.0.0.1", sip_port), f"http://127.0.0.1:{rpc_port}/RPC"
    finally:
        stop_kamailio(process)


@pytest.fixture
def enforcer(kamailio: tuple[tuple[str, int], str]) -> Iterator[KamailioEnforcer]:
    made = KamailioEnforcer(rpc_url=kamailio[1])
    made.start()
    yield made
    for address in made.active():
        made.unban(address)


def source(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 0))
    return sock


def answered(sock: socket.socket, server: tuple[str, int]) -> bool:
    return answers_options(sock, server, next(calls))


@pytest.mark.peer
def test_banned_source_gets_no_answer_until_unbanned(
    kamailio: tuple[tuple[str, int], str], enforcer: KamailioEnforcer
) -> None:
    server = kamailio[0]
    with source("127.0.0.66") as attacker, source("127.0.0.20") as phone:
        assert answered(attacker, server) and answered(phone, server)
        enforcer.ban("127.0.0.66", 60, "svwar enumeration")
        assert not answered(attacker, server), "Kamailio still answers a banned source"
        assert answered(phone, server), "Kamailio stopped answering an unbanned phone"
        assert 58 <= enforcer.active()["127.0.0.66"] <= 60
        enforcer.unban("127.0.0.66")
        enforcer.unban("127.0.0.66")  # twice is no error
        assert answered(attacker, server), "unbanned source still ignored"
        assert "127.0.0.66" not in enforcer.active()


@pytest.mark.peer
def test_network_ban_and_ipv6_address(
    kamailio: tuple[tuple[str, int], str], enforcer: KamailioEnforcer
) -> None:
    server4, server6 = kamailio[0], ("::1", kamailio[0][1])
    with source("127.0.77.5") as inside, source("127.0.78.5") as outside, source("::1") as ipv6:
        enforcer.ban("127.0.77.0/24", 60, "flood from a network")
        assert not answered(inside, server4), "an address in a banned network was answered"
        assert answered(outside, server4)
        assert answered(ipv6, server6)
        enforcer.ban("::1", 60, "scanner")
        assert not answered(ipv6, server6), "a banned IPv6 address was answered"
        assert set(enforcer.active()) == {"127.0.77.0/24", "::1"}


@pytest.mark.peer
def test_item_expiry_ends_the_ban(kamailio: tuple[tuple[str, int], str], enforcer: KamailioEnforcer) -> None:
    with source("127.0.0.67") as attacker:
        enforcer.ban("127.0.0.67", 1, "short")
        assert not answered(attacker, kamailio[0])
        time.sleep(2.2)  # htable timer_interval is 1 s in the lab config
        assert "127.0.0.67" not in enforcer.active()
        assert answered(attacker, kamailio[0]), "expired ban still drops"


@pytest.mark.peer
def test_start_names_a_missing_table(kamailio: tuple[tuple[str, int], str]) -> None:
    with pytest.raises(EnforcementError, match=r"no htable \['nosuch', 'nosuchnet'\].*shield-enforcement"):
        KamailioEnforcer(rpc_url=kamailio[1], htable="nosuch").start()


def test_unreachable_kamailio_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/RPC"
    with pytest.raises(EnforcementError, match=rf"htable.setxs at {url} failed"):
        KamailioEnforcer(rpc_url=url, timeout_s=0.5).ban("127.0.0.66", 60, "x")


def test_bad_settings_and_addresses_are_refused() -> None:
    with pytest.raises(ValueError, match="kamailio_rpc_url"):
        KamailioEnforcer(rpc_url="127.0.0.1:5071")
    with pytest.raises(ValueError, match="kamailio_htable"):
        KamailioEnforcer(htable="ip ban")
    with pytest.raises(ValueError, match="ban address"):
        KamailioEnforcer().ban("::ffff:zz", 60, "x")


def test_seconds_left_reads_only_phonewarden_values() -> None:
    assert seconds_left("1000 scanner", 990.0) == 10.0
    assert seconds_left("1", 0.0) == 1.0
    assert seconds_left("banned", 0.0) is None
    assert seconds_left(None, 0.0) is None


@pytest.mark.peer
def test_stop_keeps_the_bans_and_remove_empties_both_tables(
    kamailio: tuple[tuple[str, int], str], enforcer: KamailioEnforcer
) -> None:
    with source("127.0.0.68") as attacker:
        enforcer.ban("127.0.0.68", 60, "scanner")
        enforcer.ban("127.0.79.0/24", 60, "flood")
        enforcer.stop()
        assert not answered(attacker, kamailio[0]), "a stopped shield's ban no longer drops"
        enforcer.remove()
        assert enforcer.active() == {}
        assert answered(attacker, kamailio[0]), "a removed ban still drops"
