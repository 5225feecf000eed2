from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.privacy.inventory import load_inventory
from phonewarden.privacy.policy import parse_policy
from phonewarden.privacy.service import analyze_capture
from phonewarden.privacy.zeeklogs import ConnFlow, TlsName, ZeekLogError, read_conn_log, read_ssl_log

DATA = Path(__file__).resolve().parents[1] / "data" / "privacy"
ZEEK = DATA / "zeek"
DEVICES = DATA / "activation.devices.json"


def test_tsv_and_json_give_the_same_entries() -> None:
    tsv, js = list(read_conn_log(ZEEK / "conn.log")), list(read_conn_log(ZEEK / "conn.json"))
    assert len(tsv) == 10 and tsv == js
    assert tsv[1] == ConnFlow(
        1795620191.102444,
        "C4J4Th3PJpwUYZZ6gc",
        "198.51.100.11",
        41002,
        "202.97.1.10",
        80,
        "tcp",
        "http",
        0.412,
        520,
        180,
    )
    attempt = tsv[7]  # unset service, duration and byte counts
    assert (attempt.service, attempt.duration, attempt.orig_bytes, attempt.resp_bytes) == (None, 0.0, 0, 0)
    ssl_tsv, ssl_json = list(read_ssl_log(ZEEK / "ssl.log")), list(read_ssl_log(ZEEK / "ssl.json"))
    assert ssl_tsv == ssl_json
    assert ssl_tsv[0] == TlsName(
        "CmES5u32sYpV7JYN", "198.51.100.11", "85.214.132.117", 443, "telemetry.vendor.example"
    )
    assert ssl_tsv[1].server_name is None


def test_logs_alone_give_named_destinations_and_verdicts() -> None:
    analysis = analyze_capture(
        None,
        load_inventory(DEVICES),
        [parse_policy("eu")],
        zeek_conn=[ZEEK / "conn.log"],
        zeek_ssl=[ZEEK / "ssl.json"],
    )
    found = {(d.device, d.address, d.port, d.transport): d for d in analysis.destinations}
    chinanet = found[("nokia-7-plus", "202.97.1.10", 80, "tcp")]
    assert (chinanet.bytes_out, chinanet.bytes_in, chinanet.protocol, chinanet.country) == (
        1040,
        360,
        "http",
        "CN",
    )
    assert chinanet.last_seen == pytest.approx(1795620201.5 + 0.398)
    telemetry = found[("nokia-7-plus", "85.214.132.117", 443, "tcp")]
    assert (telemetry.host, telemetry.host_source, telemetry.protocol, telemetry.opaque) == (
        "telemetry.vendor.example",
        "sni",
        "tls",
        None,
    )
    assert found[("nokia-7-plus", "1.0.16.10", 443, "tcp")].opaque == "tls-no-sni"
    by_address = found[("nokia-7-plus", "203.0.113.7", 443, "tcp")]  # its ssl.log entry has another uid
    assert (by_address.host, by_address.host_source) == ("api.vendor.example", "sni")
    quic = found[("nokia-7-plus", "8.8.4.4", 443, "udp")]
    assert (quic.protocol, quic.host, quic.opaque) == ("quic", "dns.google", "doh")  # DNS over HTTP/3
    assert found[("nokia-7-plus", "9.9.9.9", 53, "udp")].protocol == "dns"
    attempt = found[("guest-phone", "202.97.1.10", 80, "tcp")]
    assert (attempt.bytes_out, attempt.bytes_in) == (0, 0)
    assert {d.device for d in analysis.destinations} == {"nokia-7-plus", "guest-phone"}  # .99 is nobody's
    assert analysis.summary.anomalies["zeek_conn_not_tcp_udp"] == 1
    assert analysis.summary.anomalies["unattributed_bytes"] == 1200
    [nokia_eu] = [v for v in analysis.verdicts if v.device == "nokia-7-plus"]
    assert nokia_eu.status == "violation" and "202.97.1.10" in {d.address for d in nokia_eu.evidence}


def test_ssl_log_names_a_captured_destination_without_sni(capture: Path, devices_file: Path) -> None:
    devices = load_inventory(devices_file)
    before = {
        (d.address, d.port): d
        for d in analyze_capture(capture, devices, []).destinations
        if d.device == "nokia-7-plus"
    }
    after = {
        (d.address, d.port): d
        for d in analyze_capture(capture, devices, [], zeek_ssl=[ZEEK / "ssl.log"]).destinations
        if d.device == "nokia-7-plus"
    }
    assert (before[("8.8.4.4", 443)].host, before[("8.8.4.4", 443)].opaque) == (None, "tls-no-sni")
    named = after[("8.8.4.4", 443)]
    assert (named.host, named.host_source, named.opaque) == ("dns.google", "sni", "doh")
    assert named.bytes_out == before[("8.8.4.4", 443)].bytes_out  # names only: nothing counted twice


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_errors_name_file_line_and_field(tmp_path: Path) -> None:
    lines = (ZEEK / "conn.log").read_text().splitlines()
    bad_count = [*lines[:9], lines[9].replace("\t520\t", "\tmany\t")]
    with pytest.raises(
        ZeekLogError, match=r"conn\.log:10: orig_bytes: expected a non-negative number, got 'many'"
    ):
        list(read_conn_log(_write(tmp_path, "conn.log", "\n".join(bad_count))))
    with pytest.raises(ZeekLogError, match=r"x\.log:9: expected 21 fields"):
        list(read_conn_log(_write(tmp_path, "x.log", "\n".join([*lines[:8], "1\t2"]))))
    with pytest.raises(ZeekLogError, match=r"ssl\.json:2: id\.resp_h: not an IP address: 'nowhere'"):
        list(
            read_ssl_log(
                _write(
                    tmp_path,
                    "ssl.json",
                    '{"id.orig_h":"198.51.100.11","id.resp_h":"203.0.113.1"}\n'
                    '{"id.orig_h":"198.51.100.11","id.resp_h":"nowhere"}\n',
                )
            )
        )
    with pytest.raises(ZeekLogError, match=r"c\.json:1: a conn\.log entry needs ts, proto"):
        list(
            read_conn_log(
                _write(
                    tmp_path,
                    "c.json",
                    '{"id.orig_h":"198.51.100.11","id.resp_h":"203.0.113.1","id.resp_p":443}\n',
                )
            )
        )
    with pytest.raises(ZeekLogError, match=r"ssl\.log:5: this is Zeek's conn\.log, expected ssl\.log"):
        list(read_ssl_log(_write(tmp_path, "ssl.log", (ZEEK / "conn.log").read_text())))
    with pytest.raises(ZeekLogError, match=r"d\.log:1: not a Zeek conn\.log"):
        list(read_conn_log(_write(tmp_path, "d.log", "Nov 25 15:23:10 dnsmasq[1]: query[A] a.example\n")))
    with pytest.raises(ZeekLogError, match="cannot read"):
        list(read_conn_log(tmp_path / "missing.log"))


def test_cli_reads_zeek_logs_without_a_capture() -> None:
    from typer.testing import CliRunner

    from phonewarden.privacy.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "analyze",
            "--devices",
            str(DEVICES),
            "--zeek-conn",
            str(ZEEK / "conn.json"),
            "--zeek-ssl",
            str(ZEEK / "ssl.log"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert '"host":"telemetry.vendor.example","host_source":"sni"' in result.output
    missing = runner.invoke(app, ["analyze", "--devices", str(DEVICES)])
    assert missing.exit_code == 2 and "--zeek-conn" in missing.output


_ZEEK_LINE = st.one_of(
    st.text(max_size=120),
    st.lists(
        st.sampled_from(["-", "(empty)", "198.51.100.11", "443", "tcp", "1.5", "x", "\\x09", ""]),
        min_size=1,
        max_size=22,
    ).map("\t".join),
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["tsv", "json", "raw"]), st.lists(_ZEEK_LINE, max_size=6))
def test_garbage_gives_entries_or_a_clear_error(form: str, lines: list[str]) -> None:
    header = (ZEEK / "conn.log").read_text().splitlines()[:8] if form == "tsv" else []
    body = [("{" + line) if form == "json" else line for line in lines]
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as handle:
        handle.write("\n".join(header + body))
    try:
        for flow in read_conn_log(Path(handle.name)):
            assert flow.orig and flow.resp and flow.orig_bytes >= 0
        for entry in read_ssl_log(Path(handle.name)) if form != "tsv" else ():
            assert entry.orig and entry.resp
    except ZeekLogError as exc:
        assert handle.name in str(exc)
    finally:
        Path(handle.name).unlink()
