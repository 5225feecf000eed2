from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from phonewarden.output import decode_json_lines
from phonewarden.privacy.cli import app
from phonewarden.privacy.repository import add_device
from phonewarden.store.engine import make_engine, session_factory
from phonewarden.store.migrate import upgrade

runner = CliRunner()


def test_analyze_json_records(capture: Path, devices_file: Path) -> None:
    result = runner.invoke(app, ["analyze", str(capture), "--devices", str(devices_file), "--policy", "eu",
                                 "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    records = decode_json_lines(result.stdout.encode())
    kinds = [r["type"] for r in records]
    assert kinds[-1] == "summary" and {"destination", "leak", "verdict"} <= set(kinds)
    leak = next(r for r in records if r["type"] == "leak" and r["identifier"] == "imei")
    assert {"device", "identifier", "encoding", "confidence", "address", "country", "protocol", "evidence",
            "time"} <= set(leak)  # fmt: skip
    assert "352099001761481" not in result.stdout  # evidence is redacted
    dest = next(r for r in records if r["type"] == "destination")
    assert {"device", "address", "port", "protocol", "bytes_out", "bytes_in", "first_seen"} <= set(dest)


def test_html_report_reads_as_sentences(capture: Path, devices_file: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    result = runner.invoke(
        app, ["analyze", str(capture), "--devices", str(devices_file), "--html", str(report)]
    )
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert "Your device nokia-7-plus sent its IMEI" in text and "China (zzhc.vnet.cn)" in text
    assert "data of 2026" in text or "data of 20" in text


def test_bad_inventory_names_entry_and_field(capture: Path, tmp_path: Path) -> None:
    bad = tmp_path / "d.json"
    bad.write_text('[{"name": "x", "ip": "198.51.100.1", "imei": "352099001761482"}]')
    result = runner.invoke(app, ["analyze", str(capture), "--devices", str(bad)])
    assert result.exit_code == 2
    assert "device #1 (x)" in result.output and "'imei'" in result.output


def test_bad_policy_is_refused(capture: Path) -> None:
    result = runner.invoke(app, ["analyze", str(capture), "--policy", "mars"])
    assert result.exit_code == 2 and "not understood" in result.output


def test_store_then_alert_on_what_no_stored_run_saw(
    capture: Path, devices_file: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    unmigrated = runner.invoke(app, ["analyze", str(capture), "--store", "--database", url])
    assert unmigrated.exit_code == 2 and "phonewarden db upgrade" in unmigrated.output
    upgrade(url, "privacy@head")
    nokia_only = tmp_path / "nokia.json"
    nokia_only.write_text(
        json.dumps([e for e in json.loads(devices_file.read_text()) if e["name"] == "nokia-7-plus"])
    )
    first = runner.invoke(
        app, ["analyze", str(capture), "--devices", str(nokia_only), "--store", "--database", url]
    )
    assert first.exit_code == 0 and "stored as privacy run 1" in first.output, first.output
    argv = ["analyze", str(capture), "--devices", str(devices_file), "--store", "--database", url, "--json"]
    second = runner.invoke(app, argv)
    assert second.exit_code == 0, second.output
    alerted = {
        r["device"] for r in decode_json_lines(second.stdout.encode()) if r["type"] == "new_destination"
    }
    assert alerted and "nokia-7-plus" not in alerted  # its places are in run 1; the others' are new


def test_stored_inventory_is_used(capture: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url, "privacy@head")
    engine = make_engine(url)
    with session_factory(engine)() as session, session.begin():
        add_device(session, {"name": "stored-nokia", "ip": "198.51.100.11", "imei": "352099001761481"})
    engine.dispose()
    result = runner.invoke(app, ["analyze", str(capture), "--stored-devices", "--database", url, "--json"])
    assert result.exit_code == 0, result.output
    leaks = [r for r in decode_json_lines(result.stdout.encode()) if r["type"] == "leak"]
    assert {(r["device"], r["identifier"]) for r in leaks if r["confidence"] == "high"} >= {
        ("stored-nokia", "imei")
    }


def test_dns_log_names_a_destination_and_a_bad_log_is_refused(
    capture: Path, devices_file: Path, tmp_path: Path
) -> None:
    log = tmp_path / "dns.json"
    log.write_text('{"ts":1.0,"id.orig_h":"198.51.100.11","query":"dns.google","answers":["8.8.4.4"]}\n')
    argv = ["analyze", str(capture), "--devices", str(devices_file), "--dns-log", str(log), "--json"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    google = [r for r in decode_json_lines(result.stdout.encode()) if r.get("address") == "8.8.4.4"]
    assert google and google[0]["host"] == "dns.google" and google[0]["opaque"] == "doh"
    log.write_text('{"ts":1.0,"query":"dns.google"}\n')
    refused = runner.invoke(app, argv)
    assert refused.exit_code == 2 and "dns.json:1" in refused.output and "id.orig_h" in refused.output
