"""Emergency locations: validation, longest-prefix lookup, the store on SQLite and PostgreSQL."""

from __future__ import annotations

import ipaddress
import random
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from phonewarden.console.audit_log import Actor
from phonewarden.console.locations import (
    Location,
    LocationError,
    LocationIndex,
    LocationStore,
    load,
    location_from,
    parse_ip,
)
from phonewarden.console.models import ConsoleAudit
from phonewarden.store.engine import session_factory
from tests.store import conftest as store_fixtures

# The store's fixtures: the store tests run on SQLite and on PostgreSQL.
pg_url, db_url = store_fixtures.pg_url, store_fixtures.db_url
engine, migrated_engine = store_fixtures.engine, store_fixtures.migrated_engine

ACTOR = Actor("cli:test", "localhost")


def site(name: str, subnet: str, **civic: Any) -> Location:
    fields = {"country": "DE", "A3": "Berlin", "RD": "Musterstraße", "HNO": "1"} | civic
    return location_from({"name": name, "subnet": subnet, **fields})


def test_a_location_is_validated_and_normalised() -> None:
    found = location_from(
        {"Name": " hq ", "SUBNET": "2001:0db8:0100::/48", "country": "de", "a3": "Berlin", "rd": "Weg",
         "FLR": 3, "elin": "+49 30 555 000", "note": ""}
    )  # fmt: skip
    assert found.name == "hq" and str(found.subnet) == "2001:db8:100::/48"
    assert found.civic == {"country": "DE", "A3": "Berlin", "RD": "Weg", "FLR": "3"}
    assert list(found.civic) == ["country", "A3", "RD", "FLR"]  # RFC 5139 schema order
    assert found.elin == "+4930555000"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"subnet": "198.51.100.7/24"},
            "subnet '198.51.100.7/24' has host bits set: did you mean 198.51.100.0/24?",
        ),
        ({"subnet": "198.51.100.0/33"}, "subnet '198.51.100.0/33' is not an IPv4 or IPv6 CIDR"),
        (
            {"subnet": "::ffff:198.51.100.0/120"},
            "subnet '::ffff:198.51.100.0/120' is IPv4-mapped IPv6: give it as IPv4",
        ),
        ({"subnet": ""}, "subnet: required"),
        ({"name": ""}, "name: required"),
        ({"country": "XX"}, "country: 'XX' is not an ISO 3166 alpha-2 code"),
        ({"country": "DEU"}, "country: at most 2 characters"),
        ({"RD": ""}, "RD: required"),
        ({"floor": "3"}, "unknown field 'floor'; known: name, subnet, country, A1, A3, RD"),
        ({"elin": "030 555"}, "elin: '030555' is not an E.164 number"),
        ({"LOC": "wing\nB"}, "LOC: control characters are not allowed"),
        ({"FLR": ["3"]}, "FLR: expected text, got list"),
        ({"ROOM": "x" * 65}, "ROOM: at most 64 characters (got 65)"),
    ],
)
def test_bad_input_names_the_field_and_what_is_wrong(change: dict[str, Any], message: str) -> None:
    raw = {"name": "hq", "subnet": "198.51.100.0/24", "country": "DE", "A3": "Berlin", "RD": "Weg"} | change
    with pytest.raises(LocationError, match="^" + re.escape(message)):
        location_from(raw)


def test_parse_ip_treats_ipv4_mapped_ipv6_as_ipv4_and_drops_the_zone() -> None:
    assert parse_ip("::ffff:198.51.100.9") == ipaddress.IPv4Address("198.51.100.9")
    assert parse_ip("fe80::1%eth0") == ipaddress.IPv6Address("fe80::1")
    with pytest.raises(LocationError, match=re.escape("ip '198.51.100.300' is not an IPv4 or IPv6 address")):
        parse_ip("198.51.100.300")


def test_the_most_specific_subnet_wins_per_ip_version() -> None:
    index = LocationIndex(
        [
            site("everything-v4", "0.0.0.0/0"),
            site("building", "198.51.100.0/24"),
            site("floor-3", "198.51.100.128/25"),
            site("reception", "198.51.100.200/32"),
            site("branch", "2001:db8:100::/48"),
            site("branch-floor-1", "2001:db8:100:1::/64"),
        ]
    )
    expected = {
        "198.51.100.1": "building",
        "198.51.100.127": "building",
        "198.51.100.128": "floor-3",
        "198.51.100.200": "reception",
        "198.51.100.201": "floor-3",
        "203.0.113.5": "everything-v4",
        "2001:db8:100:1::5": "branch-floor-1",
        "2001:db8:100:2::5": "branch",
    }
    for address, name in expected.items():
        found = index.lookup(parse_ip(address))
        assert found is not None and found.name == name, address
    assert index.lookup(parse_ip("2001:db8:200::1")) is None  # 0.0.0.0/0 does not cover IPv6
    assert index.lookup(parse_ip("::ffff:198.51.100.130")).name == "floor-3"  # type: ignore[union-attr]


def test_store_adds_lists_removes_and_audits(migrated_engine: Engine) -> None:
    store = LocationStore(migrated_engine)
    store.add(site("building", "198.51.100.0/24", FLR="3", ROOM="3.14"), ACTOR)
    store.add_all([site("branch", "2001:db8:100::/48"), site("annex", "203.0.113.0/24")], ACTOR)
    assert [location.name for location in store.all()] == ["annex", "branch", "building"]
    building = store.all()[2]
    assert building.civic["FLR"] == "3" and building.created_at is not None
    assert building.address_line() == "Musterstraße 1, Berlin, DE, floor 3, room 3.14"
    assert store.remove("annex", ACTOR) and not store.remove("annex", ACTOR)
    with session_factory(migrated_engine)() as session:
        entries = [(a.action, a.target, a.outcome) for a in session.scalars(select(ConsoleAudit))]
    assert entries == [
        ("location.add", "building", "ok"),
        ("location.add", "branch", "ok"),
        ("location.add", "annex", "ok"),
        ("location.remove", "annex", "ok"),
        ("location.remove", "annex", "failed"),
    ]


def test_a_taken_name_or_subnet_adds_nothing(migrated_engine: Engine) -> None:
    store = LocationStore(migrated_engine)
    store.add(site("building", "198.51.100.0/24"), ACTOR)
    with pytest.raises(LocationError, match="name 'building' exists already"):
        store.add_all([site("new", "203.0.113.0/24"), site("building", "198.51.100.0/25")], ACTOR)
    with pytest.raises(
        LocationError, match=re.escape("subnet 198.51.100.0/24 is already the location 'building'")
    ):
        store.add(site("other", "198.51.100.0/24"), ACTOR)
    with pytest.raises(LocationError, match="name given more than once: twin"):
        store.add_all([site("twin", "203.0.113.0/25"), site("twin", "203.0.113.128/25")], ACTOR)
    assert [location.name for location in store.all()] == ["building"]


def test_lookup_sees_changes_made_through_another_store(migrated_engine: Engine) -> None:
    # The console's store keeps its table in memory; `phonewarden location` changes the database.
    console, cli = LocationStore(migrated_engine), LocationStore(migrated_engine)
    address = parse_ip("198.51.100.130")
    assert console.lookup(address) is None
    cli.add(site("building", "198.51.100.0/24"), ACTOR)
    cli.add(site("floor-3", "198.51.100.128/25"), ACTOR)
    assert console.lookup(address).name == "floor-3"  # type: ignore[union-attr]
    # Remove the newest row and add another: same count, but ids are never reused, so it is seen.
    cli.remove("floor-3", ACTOR)
    cli.add(site("floor-3-new", "198.51.100.128/26"), ACTOR)
    assert console.lookup(address).name == "floor-3-new"  # type: ignore[union-attr]
    cli.remove("floor-3-new", ACTOR)
    assert console.lookup(address).name == "building"  # type: ignore[union-attr]


def test_demo_adds_three_locations_once(migrated_engine: Engine) -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert load(migrated_engine, random.Random(8), now) == "3 emergency locations"
    assert load(migrated_engine, random.Random(8), now) == "0 emergency locations"
    store = LocationStore(migrated_engine)
    assert store.lookup(parse_ip("198.51.100.200")).name == "hq-floor-3"  # type: ignore[union-attr]
    assert store.lookup(parse_ip("198.51.100.20")).name == "hq-building"  # type: ignore[union-attr]
    assert store.lookup(parse_ip("2001:db8:100::1")).name == "branch-munich"  # type: ignore[union-attr]
