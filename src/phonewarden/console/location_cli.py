"""`phonewarden location ...`: emergency locations per subnet from the command line.

`import FILE` takes CSV (a header row of field names) or TOML (`[[location]]` tables); the field names
are those of `location add` in RFC 5139 spelling: name, subnet, country, A1, A3, RD, HNO, PC, LOC, FLR,
ROOM, NAM, elin, note. Every bad row is reported with its line, and then nothing is written.
"""

from __future__ import annotations

import csv
import getpass
import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from phonewarden.console.audit_log import Actor
from phonewarden.console.location_api import pidf_lo
from phonewarden.console.locations import Location, LocationError, LocationStore, location_from, parse_ip
from phonewarden.settings import Settings, SettingsError, load_settings
from phonewarden.store.engine import make_engine
from phonewarden.store.errors import StoreError
from phonewarden.store.migrate import upgrade

app = typer.Typer(
    help="Emergency locations: the address and floor a PBX gets for a phone's IP", no_args_is_help=True
)
TOML_TABLE = re.compile(r"^[ \t]*\[\[[ \t]*location[ \t]*\]\]", re.MULTILINE)


class LocationFileError(Exception):
    """Every problem found in an import file, one "FILE:LINE: message" each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"phonewarden: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _store(ctx: typer.Context) -> LocationStore:
    settings = ctx.find_root().obj
    if not isinstance(settings, Settings):  # run on its own (tests), not under the root command
        try:
            settings = load_settings()
        except SettingsError as exc:
            raise _fail(str(exc)) from None
    try:
        upgrade(settings.database_url)
    except StoreError as exc:
        raise _fail(str(exc), 1) from None
    return LocationStore(make_engine(settings.database_url))


def _actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", "localhost")


def _rows_csv(text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(text.splitlines(keepends=True))
    rows = []
    for row in reader:
        if None in row:  # more cells than the header names
            raise LocationError(f"line {reader.line_num}: more cells than header fields")
        rows.append((reader.line_num, {key: value for key, value in row.items() if key}))
    return rows


def _rows_toml(text: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LocationError(str(exc)) from None
    unknown = sorted(set(document) - {"location"})
    if unknown:
        raise LocationError(f"unknown top-level key(s) {', '.join(unknown)}: use [[location]] tables")
    tables = document.get("location", [])
    if not isinstance(tables, list):
        raise LocationError("location must be an array of tables: [[location]]")
    # tomllib keeps no positions: the n-th [[location]] header is the n-th table.
    lines = [text.count("\n", 0, match.start()) + 1 for match in TOML_TABLE.finditer(text)]
    if len(lines) != len(tables):
        lines = [0] * len(tables)  # inline array form: no line per table
    return list(zip(lines, tables, strict=True))


def read_locations(path: Path, existing: list[Location]) -> list[Location]:
    """Validate every row of a CSV or TOML file; raise LocationFileError listing all that are wrong."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".toml"):
        raise LocationFileError([f"{path}: expected a .csv or .toml file"])
    try:
        text = path.read_text(encoding="utf-8-sig")
        rows = _rows_csv(text) if suffix == ".csv" else _rows_toml(text)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LocationFileError([f"{path}: {exc}"]) from None
    except LocationError as exc:
        raise LocationFileError([f"{path}: {exc}"]) from None
    if not rows:
        raise LocationFileError([f"{path}: no locations in the file"])
    names = {location.name: "the database" for location in existing}
    subnets = {str(location.subnet): "the database" for location in existing}
    found: list[Location] = []
    problems: list[str] = []
    for line, row in rows:
        where = f"{path}:{line}" if line else f"{path}: location {len(found) + len(problems) + 1}"
        try:
            if not isinstance(row, dict):
                raise LocationError("expected a table of fields")
            location = location_from(row)
        except LocationError as exc:
            problems.append(f"{where}: {exc}")
            continue
        for kind, seen, key in (("name", names, location.name), ("subnet", subnets, str(location.subnet))):
            if key in seen:
                problems.append(f"{where}: {kind} {key!r} is already in {seen[key]}")
            seen[key] = f"line {line}" if line else "this file"
        found.append(location)
    if problems:
        raise LocationFileError(problems)
    return found


def _print(location: Location) -> None:
    typer.echo(
        f"{location.name}\t{location.subnet}\t{location.address_line()}\t{location.elin or '-'}"
        + (f"\t{location.note}" if location.note else "")
    )


@app.command()
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short name, e.g. hq-floor-3")],
    subnet: Annotated[str, typer.Argument(help="IPv4 or IPv6 CIDR, e.g. 198.51.100.0/24")],
    country: Annotated[str, typer.Option(help="ISO 3166 alpha-2 code, e.g. DE")],
    city: Annotated[str, typer.Option("--city", "--a3", help="A3: city")],
    road: Annotated[str, typer.Option("--road", "--rd", help="RD: road")],
    house_number: Annotated[str, typer.Option("--house-number", "--hno", help="HNO")] = "",
    postcode: Annotated[str, typer.Option("--postcode", "--pc", help="PC")] = "",
    state: Annotated[str, typer.Option("--state", "--a1", help="A1: state or region")] = "",
    floor: Annotated[str, typer.Option("--floor", "--flr", help="FLR")] = "",
    room: Annotated[str, typer.Option("--room", help="ROOM")] = "",
    location_info: Annotated[str, typer.Option("--loc", help="LOC: e.g. 'wing B, next to the lift'")] = "",
    site_name: Annotated[str, typer.Option("--site-name", "--nam", help="NAM: site or occupant")] = "",
    elin: Annotated[str, typer.Option("--elin", "--callback", help="Callback number, E.164")] = "",
    note: Annotated[str, typer.Option(help="A note for operators")] = "",
) -> None:
    """Add the dispatchable location of the phones in SUBNET (the most specific subnet wins)."""
    raw = {
        "name": name, "subnet": subnet, "country": country, "A1": state, "A3": city, "RD": road,
        "HNO": house_number, "PC": postcode, "LOC": location_info, "FLR": floor, "ROOM": room,
        "NAM": site_name, "elin": elin, "note": note,
    }  # fmt: skip
    try:
        location = location_from(raw)
        _store(ctx).add(location, _actor())
    except LocationError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"added {location.name} for {location.subnet}: {location.address_line()}")


@app.command("list")
def list_locations(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="JSON Lines")] = False
) -> None:
    """All locations: name, subnet, address, callback number, note."""
    for location in _store(ctx).all():
        if as_json:
            typer.echo(json.dumps(location.to_json(), ensure_ascii=False))
        else:
            _print(location)


@app.command()
def remove(ctx: typer.Context, name: str) -> None:
    """Remove the location NAME."""
    if not _store(ctx).remove(name, _actor()):
        raise _fail(f"no location named {name!r}", 1)
    typer.echo(f"removed {name}")


@app.command("import")
def import_file(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A .csv (header row of field names) or .toml file")],
) -> None:
    """Add every location in FILE; if any row is wrong, none is added and each problem is shown."""
    store = _store(ctx)
    try:
        locations = read_locations(file, store.all())
        store.add_all(locations, _actor())
    except LocationFileError as exc:
        for problem in exc.problems:
            typer.secho(problem, fg=typer.colors.RED, err=True)
        raise _fail(f"nothing imported: {len(exc.problems)} problem(s)") from None
    except LocationError as exc:
        raise _fail(f"nothing imported: {exc}") from None
    typer.echo(f"imported {len(locations)} locations from {file}")


@app.command()
def lookup(
    ctx: typer.Context,
    ip: str,
    pidf: Annotated[bool, typer.Option("--pidf", help="Print the PIDF-LO document the API gives")] = False,
) -> None:
    """Which location answers for IP (what the PBX would get)."""
    try:
        address = parse_ip(ip)
    except LocationError as exc:
        raise _fail(str(exc)) from None
    found = _store(ctx).lookup(address)
    if found is None:
        raise _fail(f"no location for {address}", 1)
    if pidf:
        typer.echo(pidf_lo(found, address, datetime.now(UTC)).decode())
    else:
        typer.echo(f"{address} → {found.name} ({found.subnet}): {found.address_line()}")
