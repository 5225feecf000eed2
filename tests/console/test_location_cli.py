"""`phonewarden location ...` (the Typer app on its own) on SQLite and PostgreSQL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phonewarden.console.location_cli import app
from tests.store import conftest as store_fixtures

pg_url, db_url = store_fixtures.pg_url, store_fixtures.db_url

GOOD_CSV = """name,subnet,country,A1,A3,RD,HNO,PC,FLR,ROOM,elin,note
hq-building,198.51.100.0/24,DE,Berlin,Berlin,Musterstraße,1,10115,,,+4930555000,
hq-floor-3,198.51.100.128/25,DE,Berlin,Berlin,Musterstraße,1,10115,3,3.14,+4930555003,"wing B, by the lift"
"""
BAD_CSV = """name,subnet,country,A3,RD
ok-row,198.51.100.0/24,DE,Berlin,Musterstraße
host-bits,198.51.100.1/25,DE,Berlin,Musterstraße
ok-row,203.0.113.0/24,DE,Berlin,Musterstraße

no-country,203.0.113.128/25,,Berlin,Musterstraße
"""
GOOD_TOML = """# branch offices
[[location]]
name = "branch-munich"
subnet = "2001:db8:100::/48"
country = "DE"
A3 = "München"
RD = "Beispielweg"
HNO = 7
FLR = 0

[[location]]
name = "branch-hamburg"
subnet = "203.0.113.0/24"
country = "de"
A3 = "Hamburg"
RD = "Beispielallee"
"""
BAD_TOML = """[[location]]
name = "fine"
subnet = "203.0.113.0/24"
country = "DE"
A3 = "Hamburg"
RD = "Beispielallee"

[[location]]
name = "typo"
subnet = "203.0.113.0/25"
country = "DE"
A3 = "Hamburg"
RD = "Beispielallee"
floor = "2"
"""


@pytest.fixture
def runner(clean_env: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PHONEWARDEN_DATABASE_URL", db_url)
    return CliRunner()


def test_add_list_lookup_remove(runner: CliRunner) -> None:
    added = runner.invoke(
        app,
        ["add", "hq", "198.51.100.0/24", "--country", "de", "--city", "Berlin", "--road", "Musterstraße",
         "--hno", "1", "--floor", "3", "--callback", "+4930555000"],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert added.output == "added hq for 198.51.100.0/24: Musterstraße 1, Berlin, DE, floor 3\n"
    listed = runner.invoke(app, ["list"])
    assert listed.output == "hq\t198.51.100.0/24\tMusterstraße 1, Berlin, DE, floor 3\t+4930555000\n"
    assert '"civic": {"country": "DE"' in runner.invoke(app, ["list", "--json"]).output
    found = runner.invoke(app, ["lookup", "::ffff:198.51.100.9"])
    assert found.exit_code == 0 and found.output.startswith("198.51.100.9 → hq (198.51.100.0/24)")
    pidf = runner.invoke(app, ["lookup", "198.51.100.9", "--pidf"])
    ns = {"ca": "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"}
    assert ET.fromstring(pidf.output.encode()).findtext(".//ca:FLR", namespaces=ns) == "3"
    missing = runner.invoke(app, ["lookup", "203.0.113.1"])
    assert missing.exit_code == 1 and "no location for 203.0.113.1" in missing.output
    assert runner.invoke(app, ["remove", "hq"]).output == "removed hq\n"
    gone = runner.invoke(app, ["remove", "hq"])
    assert gone.exit_code == 1 and "no location named 'hq'" in gone.output


def test_add_refuses_bad_values_naming_them(runner: CliRunner) -> None:
    base = ["--city", "Berlin", "--road", "Musterstraße"]
    bad_country = runner.invoke(app, ["add", "x", "198.51.100.0/24", "--country", "EU", *base])
    assert (
        bad_country.exit_code == 2 and "country: 'EU' is not an ISO 3166 alpha-2 code" in bad_country.output
    )
    bad_ip = runner.invoke(app, ["lookup", "198.51.100"])
    assert bad_ip.exit_code == 2 and "ip '198.51.100' is not an IPv4 or IPv6 address" in bad_ip.output
    assert runner.invoke(app, ["list"]).output == ""


def test_import_csv_then_toml(runner: CliRunner, clean_env: Path) -> None:
    (clean_env / "sites.csv").write_text(GOOD_CSV, encoding="utf-8")
    (clean_env / "branches.toml").write_text(GOOD_TOML, encoding="utf-8")
    csv_run = runner.invoke(app, ["import", "sites.csv"])
    assert csv_run.exit_code == 0 and csv_run.output == "imported 2 locations from sites.csv\n"
    toml_run = runner.invoke(app, ["import", "branches.toml"])
    assert toml_run.exit_code == 0, toml_run.output
    listed = runner.invoke(app, ["list"]).output.splitlines()
    assert [line.split("\t")[0] for line in listed] == [
        "branch-hamburg",
        "branch-munich",
        "hq-building",
        "hq-floor-3",
    ]
    assert listed[3].endswith("\t+4930555003\twing B, by the lift")
    floor = runner.invoke(app, ["lookup", "198.51.100.200"]).output
    address = "Musterstraße 1, 10115 Berlin, DE, floor 3, room 3.14"
    assert floor == f"198.51.100.200 → hq-floor-3 (198.51.100.128/25): {address}\n"
    # The same file again: every row collides with the database, nothing changes.
    again = runner.invoke(app, ["import", "sites.csv"])
    assert again.exit_code == 2
    assert "sites.csv:2: name 'hq-building' is already in the database" in again.output


def test_import_reports_every_bad_row_by_line_and_writes_nothing(runner: CliRunner, clean_env: Path) -> None:
    (clean_env / "bad.csv").write_text(BAD_CSV, encoding="utf-8")
    result = runner.invoke(app, ["import", "bad.csv"])
    assert result.exit_code == 2
    assert (
        "bad.csv:3: subnet '198.51.100.1/25' has host bits set: did you mean 198.51.100.0/25?"
        in result.output
    )
    assert "bad.csv:4: name 'ok-row' is already in line 2" in result.output
    assert "bad.csv:6: country: required" in result.output  # the blank line 5 still counts
    assert "nothing imported: 3 problem(s)" in result.output
    (clean_env / "bad.toml").write_text(BAD_TOML, encoding="utf-8")
    toml = runner.invoke(app, ["import", "bad.toml"])
    assert toml.exit_code == 2 and "bad.toml:8: unknown field 'floor'" in toml.output
    assert runner.invoke(app, ["list"]).output == ""


def test_import_refuses_unreadable_files(runner: CliRunner, clean_env: Path) -> None:
    (clean_env / "sites.json").write_text("[]", encoding="utf-8")
    assert "expected a .csv or .toml file" in runner.invoke(app, ["import", "sites.json"]).output
    assert "No such file" in runner.invoke(app, ["import", "missing.csv"]).output
    (clean_env / "broken.toml").write_text('[[location]]\nname = "x\n', encoding="utf-8")
    broken = runner.invoke(app, ["import", "broken.toml"])
    assert broken.exit_code == 2 and "broken.toml: " in broken.output and "line 2" in broken.output
    (clean_env / "empty.csv").write_text("name,subnet\n", encoding="utf-8")
    assert "empty.csv: no locations in the file" in runner.invoke(app, ["import", "empty.csv"]).output
