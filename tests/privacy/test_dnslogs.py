from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phonewarden.privacy.dnslogs import DnsLogError, NameAnswer, read_dns_log
from phonewarden.privacy.inventory import parse_inventory
from phonewarden.privacy.service import analyze_capture
from tests.conftest import free_port

ZEEK_TSV = """#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tdns
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected
1732548190.967466\tCHhAvVGS1DHFjwGM9\t198.51.100.11\t40000\t9.9.9.9\t53\tudp\t1234\t0.000354\tDNS.google\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\tdns.google.cdn,8.8.4.4\t300.0,300.0\tF
1732548191.0\tCx\t198.51.100.12\t40001\t9.9.9.9\t53\tudp\t1235\t-\t-\t-\t-\t-\t-\t-\t-\tF\tF\tF\tF\t0\t-\t-\tF
"""
ZEEK_JSON = (
    '{"ts":1732548190.9,"id.orig_h":"198.51.100.11","query":"zzhc.vnet.cn","answers":["202.97.1.10"]}\n'
    '{"ts":1732548191.0,"id.orig_h":"198.51.100.12","query":"nx.example","rcode_name":"NXDOMAIN"}\n'
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_zeek_tsv_and_json(tmp_path: Path) -> None:
    assert list(read_dns_log(_write(tmp_path, "dns.log", ZEEK_TSV))) == [
        NameAnswer("198.51.100.11", "dns.google", "8.8.4.4")]  # fmt: skip
    assert list(read_dns_log(_write(tmp_path, "dns.json", ZEEK_JSON))) == [
        NameAnswer("198.51.100.11", "zzhc.vnet.cn", "202.97.1.10")]  # fmt: skip


def test_pihole_lines_with_extra_client_and_cname_chain(tmp_path: Path) -> None:
    log = _write(tmp_path, "pihole.log", (
        "Nov 25 15:23:10: 7 198.51.100.11/40000 query[A] www.vendor.example from 198.51.100.11\n"
        "Nov 25 15:23:10: 7 198.51.100.11/40000 forwarded www.vendor.example to 9.9.9.9\n"
        "Nov 25 15:23:10: 7 198.51.100.11/40000 reply www.vendor.example is <CNAME>\n"
        "Nov 25 15:23:10: 7 198.51.100.11/40000 reply e1.cdn.example is 203.0.113.9\n"
        "Nov 25 15:23:11: 8 198.51.100.12/40001 query[A] ads.example from 198.51.100.12\n"
        "Nov 25 15:23:11: 8 198.51.100.12/40001 reply ads.example is NXDOMAIN\n"
    ))  # fmt: skip
    assert list(read_dns_log(log)) == [NameAnswer("198.51.100.11", "www.vendor.example", "203.0.113.9")]


def test_bad_zeek_line_names_file_and_line(tmp_path: Path) -> None:
    log = _write(tmp_path, "dns.log", ZEEK_TSV + "1\t2\n")
    with pytest.raises(DnsLogError, match=r"dns\.log:9: expected 24"):
        list(read_dns_log(log))
    with pytest.raises(DnsLogError, match=r"cannot read"):
        list(read_dns_log(tmp_path / "missing.log"))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_garbage_is_an_answer_list_or_a_clear_error(text: str) -> None:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as handle:
        handle.write(text)
    try:
        for answer in read_dns_log(Path(handle.name)):
            assert answer.client and answer.name
    except DnsLogError as exc:
        assert handle.name in str(exc)
    finally:
        Path(handle.name).unlink()


@pytest.mark.peer
def test_real_dnsmasq_log_names_a_no_sni_destination(tmp_path: Path, capture: Path) -> None:
    dnsmasq, dig = shutil.which("dnsmasq"), shutil.which("dig")
    assert dnsmasq, "dnsmasq missing: apt-get install dnsmasq-base"
    assert dig, "dig missing: apt-get install bind9-dnsutils"
    port, log = free_port(), tmp_path / "dnsmasq.log"
    argv = [dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
            "--bind-interfaces", "--listen-address=127.0.0.1", f"--port={port}", "--user=root", "--pid-file=",
            "--log-queries", f"--log-facility={log}", "--address=/dns.google/8.8.4.4",
            "--host-record=cdn.example.net,1.0.16.10",
            "--cname=stats.alias.example,cdn.example.net"]  # fmt: skip
    server = subprocess.Popen(argv)
    try:
        for name in ("dns.google", "stats.alias.example"):
            query = [
                dig,
                "@127.0.0.1",
                "-p",
                str(port),
                "-b",
                "127.0.0.11",
                "+short",
                "+tries=1",
                "+time=1",
                name,
            ]
            for _ in range(50):  # until dnsmasq listens: at most ~5 s
                answer = subprocess.run(query, capture_output=True, text=True, timeout=5)
                if answer.returncode == 0 and answer.stdout.strip():
                    break
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(5)
    answers = set(read_dns_log(log))
    assert NameAnswer("127.0.0.11", "dns.google", "8.8.4.4") in answers, log.read_text()
    assert NameAnswer("127.0.0.11", "stats.alias.example", "1.0.16.10") in answers, log.read_text()
    # The phone also used 127.0.0.11 to ask (as a second address in the inventory): its log names count.
    devices = parse_inventory([{"name": "nokia", "ip": ["198.51.100.11", "127.0.0.11"]}], "t")
    without = analyze_capture(capture, devices, [])
    named = analyze_capture(capture, devices, [], dns_logs=[log])
    before = {(d.address, d.port): d for d in without.destinations}
    after = {(d.address, d.port): d for d in named.destinations}
    assert before[("8.8.4.4", 443)].host is None
    assert (after[("8.8.4.4", 443)].host, after[("8.8.4.4", 443)].host_source) == ("dns.google", "dns")
    assert after[("8.8.4.4", 443)].opaque == "doh"  # DNS over HTTPS to Google: the names it asks are hidden
