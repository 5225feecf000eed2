"""The generator itself, with its real peers: curl, dig, openssl s_server, dumpcap, then analyze."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from phonewarden.privacy.inventory import load_inventory
from phonewarden.privacy.service import analyze_capture
from tests.privacy.test_service import check_planted

TOOL = Path(__file__).resolve().parents[2] / "tools" / "privacy" / "make_capture.py"
PEERS = {"dumpcap": "tshark", "curl": "curl", "dig": "bind9-dnsutils", "openssl": "openssl"}


@pytest.mark.peer
def test_real_clients_and_servers_leaks_all_found(tmp_path: Path) -> None:
    for binary, package in PEERS.items():
        assert shutil.which(binary), f"{binary} missing: apt-get install {package}"
    out = tmp_path / "run.pcap"
    done = subprocess.run([sys.executable, str(TOOL), str(out), "--benign", "40", "--seed", "11"],
                          capture_output=True, text=True, timeout=90)  # fmt: skip
    assert done.returncode == 0, done.stderr
    planted = json.loads(out.with_suffix(".expected.json").read_text())
    analysis = analyze_capture(out, load_inventory(out.with_suffix(".devices.json")), [])
    check_planted(analysis, planted)
    assert analysis.summary.frames > 300


@pytest.mark.peer
def test_tshark_sees_the_rewritten_foreign_addresses(capture: Path) -> None:
    assert shutil.which("tshark"), "tshark missing: apt-get install tshark"
    done = subprocess.run(["tshark", "-r", str(capture), "-T", "fields", "-e", "ip.dst", "-e", "http.host",
                           "-Y", "http.request"], capture_output=True, text=True, timeout=60)  # fmt: skip
    pairs = {tuple(line.split("\t")) for line in done.stdout.splitlines()}
    assert ("202.97.1.10", "zzhc.vnet.cn") in pairs
    assert not any(dst.startswith("127.") for dst, *_ in pairs)
