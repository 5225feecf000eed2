from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from phonewarden.output import decode_json_lines
from phonewarden.privacy.cli import app

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
