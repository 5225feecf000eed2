"""Benchmark: deciding packet -> nftables element present, phonewarden's live shield vs fail2ban, same run.

Lab (network namespaces, tests/shield/e2e_lab.py): Kamailio in the server namespace traces SIP over HEP to
`phonewarden serve` (shield enforcing with nftables) and also logs one line per request, which fail2ban
(Debian package, backend auto = pyinotify, maxretry 1, an nft action) watches. Each sample sends ONE
SIPVicious-style OPTIONS (User-Agent friendly-scanner) from a fresh address; `nft monitor` in the server
namespace stamps when each tool's element appears. Target (issue 3): phonewarden median <= 100 ms.

    sudo .venv/bin/python bench/shield_live_latency.py [--samples 40]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.shield.e2e_lab import HOSTS, BanMonitor, Phonewarden, SipPeers, send_deciding_packet  # noqa: E402
from tests.shield.netns import NetLab  # noqa: E402

FILTER = """[Definition]
failregex = sip request \\S+ from <HOST> ua=friendly-scanner
ignoreregex =
[Init]
datepattern = {NONE}
"""
ACTION = """[Definition]
actionstart =
actionstop =
actioncheck =
actionban = nft add element inet f2b ban4 { <ip> timeout <bantime>s }
actionunban = nft delete element inet f2b ban4 { <ip> }
"""
JAIL = """[DEFAULT]
backend = auto
[kamailio-scanner]
enabled = true
filter = kamailio-scanner
action = nft-lab
logpath = {log}
maxretry = 1
findtime = 600
bantime = 3600
"""
F2B_TABLE = "table inet f2b { set ban4 { type ipv4_addr; flags timeout; }; }"


def start_fail2ban(lab: NetLab, workdir: Path, kamailio_log: Path) -> None:
    server = shutil.which("fail2ban-server")
    if server is None:
        sys.exit("fail2ban-server not found: apt-get install fail2ban python3-pyinotify")
    conf = workdir / "fail2ban"
    for sub in ("filter.d", "action.d", "jail.d"):
        (conf / sub).mkdir(parents=True, exist_ok=True)
    (conf / "fail2ban.conf").write_text(
        f"[Definition]\nloglevel = INFO\nlogtarget = {workdir / 'fail2ban.log'}\n"
        f"socket = {workdir / 'f2b.sock'}\npidfile = {workdir / 'f2b.pid'}\ndbfile = :memory:\n"
    )
    (conf / "filter.d" / "kamailio-scanner.conf").write_text(FILTER)
    (conf / "action.d" / "nft-lab.conf").write_text(ACTION)
    (conf / "jail.conf").write_text(JAIL.replace("{log}", str(kamailio_log)))
    lab.run("srv", ["nft", "-f", "-"], stdin=F2B_TABLE)
    argv = [
        server,
        "-f",
        "-x",
        "-c",
        str(conf),
        "-s",
        str(workdir / "f2b.sock"),
        "-p",
        str(workdir / "f2b.pid"),
    ]
    with open(workdir / "fail2ban.err", "wb") as err:  # the child keeps its own copy of the descriptor
        lab.popen("srv", argv, stdout=err, stderr=err)
    client = [str(Path(server).with_name("fail2ban-client")), "-s", str(workdir / "f2b.sock"), "status"]
    for _ in range(100):
        if lab.run("srv", [*client, "kamailio-scanner"], check=False).returncode == 0:
            return
        time.sleep(0.1)
    sys.exit("fail2ban did not start its jail: " + (workdir / "fail2ban.err").read_text()[-2000:])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    addresses = [f"203.0.113.{100 + n}" for n in range(min(args.samples, 150))]
    hosts = {"srv": HOSTS["srv"], "probe": [f"{address}/24" for address in addresses]}
    workdir = Path(tempfile.mkdtemp(prefix="pw-latency-"))
    with NetLab(hosts, tag=f"pw{os.getpid()}b") as lab:
        peers = SipPeers(lab, workdir)
        peers.start_kamailio(defines=("WITH_REQUEST_LOG",))
        Phonewarden(lab, workdir).start()
        start_fail2ban(lab, workdir, workdir / "kamailio.log")
        monitor = BanMonitor(lab)
        ours, theirs, missed = [], [], 0
        for n, address in enumerate(addresses):
            sent = send_deciding_packet(lab, "probe", address, n)
            pw_added = monitor.wait_for(address, 3.0, table="phonewarden")
            f2b_added = monitor.wait_for(address, 5.0, table="f2b")
            if pw_added is None or f2b_added is None:
                missed += 1
                continue
            ours.append((pw_added - sent) * 1000)
            theirs.append((f2b_added - sent) * 1000)
        monitor.close()
    backend = re.search(r"uses (\w+)", (workdir / "fail2ban.log").read_text())
    shutil.rmtree(workdir, ignore_errors=True)
    if not ours:
        sys.exit("no sample completed")

    def row(name: str, values: list[float]) -> str:
        quantiles = statistics.quantiles(values, n=10)
        return f"| {name} | {statistics.median(values):.1f} | {quantiles[8]:.1f} | {max(values):.1f} |"

    print(f"deciding packet -> nft element, {len(ours)} samples ({missed} missed), ms")
    print("| tool | median | p90 | max |\n|---|---|---|---|")
    print(row("phonewarden shield (HEP, live)", ours))
    print(row(f"fail2ban (Kamailio log, backend {backend.group(1) if backend else '?'})", theirs))
    print(
        f"ratio fail2ban / phonewarden (median): {statistics.median(theirs) / statistics.median(ours):.1f}x"
    )
    print(f"target median <= 100 ms: {'met' if statistics.median(ours) <= 100 else 'NOT met'}")


if __name__ == "__main__":
    main()
