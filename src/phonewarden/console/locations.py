"""Emergency locations: which civic address (and floor, room) answers for a phone's IP address.

An emergency call must be traceable to an address and floor (Snom 000). The operator records one
dispatchable location per site or subnet; the PBX asks `GET /api/v1/location?ip=…` when a phone dials
the emergency number. Subnets may overlap: the most specific one wins (longest-prefix match).

The lookup runs in memory over a table built from the database. Rows are only ever added or removed
and ids are never reused, so (row count, highest id) changes with every change, by this process or by
`phonewarden location` in another: one cheap query decides whether the table must be rebuilt.
"""

from __future__ import annotations

import ipaddress
import random
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from threading import Lock
from typing import Any

import pycountry
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from phonewarden.console import audit_log
from phonewarden.console.audit_log import Actor
from phonewarden.console.models import ConsoleLocation
from phonewarden.store.engine import session_factory

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class CivicField:
    column: str  # ConsoleLocation attribute
    element: str  # RFC 5139 element name, used in JSON, PIDF-LO, CSV and TOML
    label: str
    max_length: int


# In the order of the RFC 5139 civicAddress schema, so a PIDF-LO body can follow it as it is.
CIVIC_FIELDS = (
    CivicField("country", "country", "country (ISO 3166 alpha-2)", 2),
    CivicField("a1", "A1", "state / region", 255),
    CivicField("a3", "A3", "city", 255),
    CivicField("rd", "RD", "road", 255),
    CivicField("hno", "HNO", "house number", 32),
    CivicField("loc", "LOC", "additional location", 255),
    CivicField("flr", "FLR", "floor", 32),
    CivicField("nam", "NAM", "site or occupant name", 255),
    CivicField("pc", "PC", "postcode", 32),
    CivicField("room", "ROOM", "room", 64),
)
REQUIRED = ("country", "A3", "RD")  # without a city and road nobody can be sent there
# Columns that are not civic fields, and what input names they are known by.
OTHER_FIELDS = {"name": 64, "subnet": 43, "elin": 16, "note": 500}
KNOWN_KEYS = {f.element.lower(): f.element for f in CIVIC_FIELDS} | {k: k for k in OTHER_FIELDS}
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class LocationError(ValueError):
    """Bad location input or a conflict; the message names the field and what is wrong."""


@dataclass(frozen=True)
class Location:
    name: str
    subnet: IPNetwork
    civic: dict[str, str]  # RFC 5139 element → value; only the fields given, in schema order
    elin: str = ""
    note: str = ""
    created_at: datetime | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "location": self.name,
            "subnet": str(self.subnet),
            "civic": dict(self.civic),
            "callback": self.elin or None,
            "note": self.note or None,
        }

    def address_line(self) -> str:
        """One line for people: road and number, postcode and city, floor and room."""
        c = self.civic
        parts = [
            " ".join(filter(None, (c.get("RD"), c.get("HNO")))),
            " ".join(filter(None, (c.get("PC"), c.get("A3")))),
            c.get("country", ""),
            f"floor {c['FLR']}" if c.get("FLR") else "",
            f"room {c['ROOM']}" if c.get("ROOM") else "",
            c.get("LOC", ""),
        ]
        return ", ".join(part for part in parts if part)


def parse_ip(text: str) -> IPAddress:
    """An address as the PBX saw it: IPv4-mapped IPv6 (::ffff:198.51.100.7) counts as IPv4."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        raise LocationError(f"ip {text!r} is not an IPv4 or IPv6 address") from None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id is not None:  # fe80::1%eth0: the zone does not change where the phone is
            return ipaddress.IPv6Address(str(address).split("%", 1)[0])
    return address


def parse_subnet(text: str) -> IPNetwork:
    text = text.strip()
    try:
        network = ipaddress.ip_network(text)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            example = "e.g. 198.51.100.0/24 or 2001:db8::/48"
            raise LocationError(f"subnet {text!r} is not an IPv4 or IPv6 CIDR ({example})") from None
        raise LocationError(f"subnet {text!r} has host bits set: did you mean {loose}?") from None
    if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_IPV4_MAPPED):
        raise LocationError(f"subnet {text!r} is IPv4-mapped IPv6: give it as IPv4")
    return network


def _clean(key: str, value: Any, max_length: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise LocationError(f"{key}: expected text, got {type(value).__name__}")
    text = str(value).strip()
    if len(text) > max_length:
        raise LocationError(f"{key}: at most {max_length} characters (got {len(text)})")
    if any(unicodedata.category(char).startswith("C") for char in text):
        raise LocationError(f"{key}: control characters are not allowed")
    return text


def location_from(raw: Mapping[str, Any]) -> Location:
    """Validate input keyed by RFC 5139 element names (any case) plus name, subnet, elin, note."""
    given: dict[str, Any] = {}
    for key, value in raw.items():
        known = KNOWN_KEYS.get(str(key).strip().lower())
        if known is None:
            names = ", ".join(["name", "subnet", *(f.element for f in CIVIC_FIELDS), "elin", "note"])
            raise LocationError(f"unknown field {key!r}; known: {names}")
        given[known] = value
    name = _clean("name", given.get("name"), OTHER_FIELDS["name"])
    if not name:
        raise LocationError("name: required")
    subnet_text = _clean("subnet", given.get("subnet"), 64)
    if not subnet_text:
        raise LocationError("subnet: required (an IPv4 or IPv6 CIDR)")
    subnet = parse_subnet(subnet_text)
    civic: dict[str, str] = {}
    for civic_field in CIVIC_FIELDS:
        value = _clean(civic_field.element, given.get(civic_field.element), civic_field.max_length)
        if value:
            civic[civic_field.element] = value
    missing = [key for key in REQUIRED if key not in civic]
    if missing:
        raise LocationError(f"{', '.join(missing)}: required (country, A3 city and RD road)")
    country = civic["country"].upper()
    if pycountry.countries.get(alpha_2=country) is None:
        raise LocationError(f"country: {civic['country']!r} is not an ISO 3166 alpha-2 code (e.g. DE)")
    civic["country"] = country
    elin = _clean("elin", given.get("elin"), OTHER_FIELDS["elin"]).replace(" ", "")
    if elin and not E164.fullmatch(elin):
        raise LocationError(f"elin: {elin!r} is not an E.164 number (+ and 2-15 digits, e.g. +4930123456)")
    note = _clean("note", given.get("note"), OTHER_FIELDS["note"])
    return Location(name, subnet, civic, elin, note)


def _from_row(row: ConsoleLocation) -> Location:
    civic = {f.element: getattr(row, f.column) for f in CIVIC_FIELDS if getattr(row, f.column)}
    return Location(row.name, ipaddress.ip_network(row.subnet), civic, row.elin, row.note, row.created_at)


def _to_row(location: Location) -> ConsoleLocation:
    civic = {f.column: location.civic.get(f.element, "") for f in CIVIC_FIELDS}
    return ConsoleLocation(
        name=location.name, subnet=str(location.subnet), elin=location.elin, note=location.note, **civic
    )


class LocationIndex:
    """Longest-prefix match: one dict per (IP version, prefix length), probed from the longest down."""

    def __init__(self, locations: Iterable[Location]) -> None:
        self._tables: dict[tuple[int, int], dict[int, Location]] = {}
        for location in locations:
            net = location.subnet
            self._tables.setdefault((net.version, net.prefixlen), {})[int(net.network_address)] = location
        # Longest prefix first, per IP version.
        self._order: dict[int, list[tuple[int, dict[int, Location]]]] = {4: [], 6: []}
        for version, length in sorted(self._tables, key=lambda key: -key[1]):
            self._order[version].append((length, self._tables[(version, length)]))
        self.size = sum(len(table) for table in self._tables.values())

    def lookup(self, address: IPAddress) -> Location | None:
        bits = 32 if address.version == 4 else 128
        value = int(address)
        for length, table in self._order[address.version]:
            found = table.get(value >> (bits - length) << (bits - length))
            if found is not None:
                return found
        return None


class LocationStore:
    """Reads and changes the locations table; every change is written to the console's audit log."""

    def __init__(self, engine: Engine) -> None:
        self._session = session_factory(engine)
        self._lock = Lock()
        self._index = LocationIndex(())
        self._fingerprint: tuple[int, int] | None = None

    def all(self) -> list[Location]:
        with self._session() as session:
            rows = session.scalars(select(ConsoleLocation).order_by(ConsoleLocation.name))
            return [_from_row(row) for row in rows]

    def add(self, location: Location, actor: Actor) -> None:
        self.add_all([location], actor)

    def add_all(self, locations: list[Location], actor: Actor) -> None:
        """All or nothing: a name or subnet already taken (in the database or twice here) adds none."""
        with self._session.begin() as session:
            self._refuse_duplicates(session, locations)
            for location in locations:
                session.add(_to_row(location))
                audit_log.record(session, actor, "location.add", location.name, subnet=str(location.subnet))
            try:
                session.flush()
            except IntegrityError:  # someone else added the same name or subnet just now
                raise LocationError("a location with this name or subnet was added meanwhile") from None
        self._fingerprint = None

    def remove(self, name: str, actor: Actor) -> bool:
        with self._session.begin() as session:
            row = session.scalar(select(ConsoleLocation).where(ConsoleLocation.name == name))
            if row is not None:
                session.delete(row)
            outcome = "ok" if row is not None else "failed"
            audit_log.record(session, actor, "location.remove", name, outcome=outcome)
        self._fingerprint = None
        return row is not None

    def lookup(self, address: IPAddress) -> Location | None:
        return self.index().lookup(address)

    def index(self) -> LocationIndex:
        """The in-memory table, rebuilt when the database changed since it was built."""
        with self._session() as session:
            count, highest = session.execute(
                select(func.count(ConsoleLocation.id), func.coalesce(func.max(ConsoleLocation.id), 0))
            ).one()
        fingerprint = (int(count), int(highest))
        with self._lock:
            if fingerprint != self._fingerprint:
                self._index, self._fingerprint = LocationIndex(self.all()), fingerprint
            return self._index

    @staticmethod
    def _refuse_duplicates(session: Session, locations: list[Location]) -> None:
        names = [location.name for location in locations]
        subnets = [str(location.subnet) for location in locations]
        for kind, values in (("name", names), ("subnet", subnets)):
            twice = sorted({value for value in values if values.count(value) > 1})
            if twice:
                raise LocationError(f"{kind} given more than once: {', '.join(twice)}")
        taken = session.execute(
            select(ConsoleLocation.name, ConsoleLocation.subnet).where(
                ConsoleLocation.name.in_(names) | ConsoleLocation.subnet.in_(subnets)
            )
        ).all()
        for name, subnet in taken:
            if name in names:
                raise LocationError(f"name {name!r} exists already; remove it first")
            raise LocationError(f"subnet {subnet} is already the location {name!r}; remove it first")


# Sample sites for `phonewarden demo`: documentation address ranges (RFC 5737, RFC 3849) and the
# German placeholder street "Musterstraße"; no real site is described.
DEMO_LOCATIONS = (
    {"name": "hq-building", "subnet": "198.51.100.0/24", "country": "DE", "A1": "Berlin", "A3": "Berlin",
     "RD": "Musterstraße", "HNO": "1", "PC": "10115", "NAM": "Example GmbH", "elin": "+4930555000"},
    {"name": "hq-floor-3", "subnet": "198.51.100.128/25", "country": "DE", "A1": "Berlin", "A3": "Berlin",
     "RD": "Musterstraße", "HNO": "1", "PC": "10115", "FLR": "3", "ROOM": "3.14", "NAM": "Example GmbH",
     "elin": "+4930555003", "note": "more specific than hq-building: wins for .128-.255"},
    {"name": "branch-munich", "subnet": "2001:db8:100::/48", "country": "DE", "A1": "Bayern",
     "A3": "München", "RD": "Beispielweg", "HNO": "7", "PC": "80331", "FLR": "0", "LOC": "reception"},
)  # fmt: skip


def load(engine: Engine, rng: random.Random, now: datetime) -> str:
    """`phonewarden demo`: three sample locations (two nested IPv4 subnets, one IPv6); skips existing."""
    store = LocationStore(engine)
    existing = {location.name for location in store.all()}
    fresh = [location_from(raw) for raw in DEMO_LOCATIONS if raw["name"] not in existing]
    store.add_all(fresh, Actor("demo", "localhost"))
    return f"{len(fresh)} emergency locations"
