"""The enforcement interface: address validation, the dry-run back-end and the factory."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.shield.enforce import (
    DryRunEnforcer,
    Enforcer,
    build_enforcers,
    canonical,
    check_duration,
    clean_reason,
    parse_target,
)
from phonewarden.shield.enforce_kamailio import KamailioEnforcer
from phonewarden.shield.enforce_nft import NftEnforcer
from phonewarden.shield.settings import ShieldSettings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_addresses_are_canonical_and_full_prefixes_become_addresses() -> None:
    assert canonical(" 2001:0DB8:0:0::1 ") == "2001:db8::1"
    assert canonical("198.51.100.7/32") == "198.51.100.7"
    assert canonical("2001:db8:66::/64") == "2001:db8:66::/64"
    assert isinstance(parse_target("203.0.113.0/24"), ipaddress.IPv4Network)


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("", "non-empty"),
        ("198.51.100.256", "not an IP address"),
        ("198.51.100.1/24", "host bits set"),
        ("10.0.0.0/8", "too wide"),
        ("2000::/16", "too wide"),
        ("198.51.100.1;drop", "not an IP address"),
    ],
)
def test_bad_addresses_say_what_is_wrong(bad: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_target(bad)


@pytest.mark.parametrize("bad", [0, -5, 366 * 24 * 3600 + 1, 1.5, True])
def test_bad_durations_are_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="duration"):
        check_duration(bad)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_parse_target_accepts_or_refuses_cleanly(text: str) -> None:
    try:
        target = parse_target(text)
    except ValueError as error:
        assert "ban address" in str(error)
        return
    assert canonical(str(target)) == str(target)  # what comes out parses to itself


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_reasons_are_one_printable_line_that_fits_an_nft_comment(reason: str) -> None:
    cleaned = clean_reason(reason)
    assert cleaned and cleaned.isprintable() and len(cleaned.encode()) <= 120


def test_dry_run_records_actions_and_keeps_a_ban_list_with_expiry() -> None:
    clock = FakeClock()
    dry = DryRunEnforcer(clock=clock)
    dry.start()
    dry.ban("2001:db8:66::/64", 60, "flood")
    dry.ban("198.51.100.66", 10, "scanner\nfriendly-scanner")
    clock.now += 5
    assert dry.active() == {"2001:db8:66::/64": 55.0, "198.51.100.66": 5.0}
    clock.now += 5
    assert dry.active() == {"2001:db8:66::/64": 50.0}
    dry.unban("2001:db8:66::/64")
    assert dry.active() == {}
    assert [(a.action, a.address, a.duration_s) for a in dry.actions] == [
        ("start", "", 0),
        ("ban", "2001:db8:66::/64", 60),
        ("ban", "198.51.100.66", 10),
        ("unban", "2001:db8:66::/64", 0),
    ]
    assert dry.actions[2].reason == "scanner friendly-scanner"
    with pytest.raises(ValueError, match="ban address"):
        dry.ban("nonsense", 60, "x")


def test_build_enforcers_follows_the_settings() -> None:
    both = build_enforcers(
        ShieldSettings(
            enforcers=["nftables", "kamailio"], nft_table="pwx", kamailio_rpc_url="http://127.0.0.1:9/RPC"
        )
    )
    assert [type(e) for e in both] == [NftEnforcer, KamailioEnforcer]
    nft, kamailio = both
    assert isinstance(nft, NftEnforcer) and nft.table == "pwx"
    assert isinstance(kamailio, KamailioEnforcer) and kamailio.rpc_url == "http://127.0.0.1:9/RPC"
    dry = build_enforcers(ShieldSettings(enforcers=["nftables"], dry_run=True))
    assert [e.name for e in dry] == ["dry-run"]
    assert build_enforcers(ShieldSettings(enforcers=[])) == []


def test_every_back_end_satisfies_the_protocol() -> None:
    made: list[Enforcer] = [DryRunEnforcer(), NftEnforcer(), KamailioEnforcer()]
    assert [e.name for e in made] == ["dry-run", "nftables", "kamailio"]
