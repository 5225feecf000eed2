"""The shield's end-to-end lab: Kamailio, phonewarden, phones and SIPVicious attackers in namespaces.

    srv   198.51.100.10, 203.0.113.10   Kamailio (digest auth, siptrace -> HEP 127.0.0.1:9060) and
                                        `phonewarden serve` (shield enforcing with nftables + Kamailio htable)
    phone 198.51.100.20                 alice and bob register (sipp)
    nat   198.51.100.30                 20 phones behind one NAT address register within one second
    mon   198.51.100.40                 an OPTIONS health checker
The shield runs with flood_requests = 20 (LAB_FLOOD_REQUESTS), below the NAT burst.
    scan, war, wari, crack, slow        203.0.113.11-15: svmap, svwar REGISTER, svwar INVITE, svcrack, and a
                                        slow brute-forcer with a real phone's User-Agent (sipp)
Attackers reach the server on its 203.0.113.10 address (no router in the lab). Every peer run is bounded by
count and by a timeout.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import REPO
from tests.shield.kamailio_lab import start_kamailio
from tests.shield.netns import NetLab, require_tool

TOOLS = REPO / "tools" / "shield"
SERVER = "198.51.100.10"
SERVER_FOR_ATTACKERS = "203.0.113.10"
SIP_PORT = 5060
HOSTS = {
    "srv": ["198.51.100.10/24", "203.0.113.10/24"],
    "phone": ["198.51.100.20/24"],
    "nat": ["198.51.100.30/24"],
    "mon": ["198.51.100.40/24"],
    "scan": ["203.0.113.11/24"],
    "war": ["203.0.113.12/24"],
    "wari": ["203.0.113.13/24"],
    "crack": ["203.0.113.14/24"],
    "slow": ["203.0.113.15/24"],
}
BENIGN = ("phone", "nat", "mon")
ATTACKERS = ("scan", "war", "wari", "crack", "slow")
PHONE_UA = "Yealink SIP-T46S 66.86.0.15"
NAT_PHONES = [(str(ext), f"phone{ext}") for ext in range(2000, 2020)]
LAB_PHONES = [("alice", "secret123"), ("bob", "secret123")]
# The NAT phones' 40 requests within about a second (sipp -r 20) overflow a bucket of 20 draining 10/s, so the
# lab proves that the trust rule, not a generous limit, keeps the NAT address unbanned (log: "not banning").
LAB_FLOOD_REQUESTS = 20


class SipPeers:
    """sipp phones and SIPVicious attackers in their namespaces, all aimed at the lab's Kamailio."""

    def __init__(self, lab: NetLab, workdir: Path) -> None:
        self.lab, self.workdir = lab, workdir

    def start_kamailio(self, hep_port: int = 9060, defines: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
        listen = [f"udp:{SERVER}:{SIP_PORT}", f"udp:{SERVER_FOR_ATTACKERS}:{SIP_PORT}", "tcp:127.0.0.1:5071"]
        defines = ("WITH_HEP", f'HEP_URI="sip:127.0.0.1:{hep_port}"', *defines)
        process = start_kamailio(listen, self.workdir, defines, prefix=self.lab.argv("srv", []))
        self.lab.processes.append(process)
        return process

    def target(self, host: str) -> str:
        return SERVER_FOR_ATTACKERS if self.lab.address(host).startswith("203.0.113.") else SERVER

    def _users(self, name: str, rows: list[tuple[str, str]]) -> Path:
        path = self.workdir / f"{name}.csv"
        lines = [f"{user};[authentication username={user} password={password}]\n" for user, password in rows]
        path.write_text("SEQUENTIAL\n" + "".join(lines))
        return path

    def sipp(
        self, host: str, scenario: str, calls: int, rate: int, extra: list[str], timeout_s: int = 20
    ) -> subprocess.CompletedProcess[str]:
        argv = [
            require_tool("sipp"), f"{self.target(host)}:{SIP_PORT}", "-max_socket", "100",
            "-sf", str(TOOLS / scenario), "-i", self.lab.address(host),
            "-m", str(calls), "-r", str(rate), "-rp", "1000", "-nostdin", "-timeout", f"{timeout_s}s",
            "-timeout_error", "-trace_err", "-error_file", str(self.workdir / f"sipp-{host}.err"), *extra,
        ]  # fmt: skip
        return self.lab.run(host, argv, timeout=timeout_s + 10, check=False)

    def register(self, host: str, users: list[tuple[str, str]], rate: int = 20, ua: str = PHONE_UA) -> int:
        """Register `users`, one socket (source port) each as behind a NAT; sipp's exit code (0 = all 200)."""
        extra = ["-inf", str(self._users(f"users-{host}", users)), "-key", "ua", ua, "-t", "un"]
        return self.sipp(host, "register.xml", len(users), rate, extra).returncode

    def options(self, host: str, count: int, rate: int) -> int:
        return self.sipp(
            host, "options.xml", count, rate, ["-key", "ua", "phonewarden-lab-monitor/1.0"]
        ).returncode

    def sipvicious(self, host: str, tool: str, args: list[str], timeout_s: int = 25) -> subprocess.Popen[Any]:
        argv = [require_tool(f"sipvicious_{tool}"), "-b", self.lab.address(host), "-p", str(SIP_PORT), *args]
        with open(self.workdir / f"{host}-{tool}.log", "wb") as log:  # the child keeps its own descriptor
            return self.lab.popen(host, ["timeout", str(timeout_s), *argv], stdout=log, stderr=log)

    def svmap(self) -> subprocess.Popen[Any]:
        return self.sipvicious("scan", "svmap", [SERVER_FOR_ATTACKERS])

    def svwar(self, host: str, method: str) -> subprocess.Popen[Any]:
        return self.sipvicious(
            host, "svwar", ["-e", "100-140", "-m", method, "--maximumtime", "5", SERVER_FOR_ATTACKERS]
        )

    def svcrack(self, passwords: list[str]) -> subprocess.Popen[Any]:
        dictionary = self.workdir / "dictionary.txt"
        dictionary.write_text("".join(f"{word}\n" for word in passwords))
        args = ["-u", "101", "-d", str(dictionary), "--maximumtime", "5", SERVER_FOR_ATTACKERS]
        return self.sipvicious("crack", "svcrack", args)

    def slow_bruteforce(self, attempts: int, rate: int = 3) -> int:
        """A brute-forcer behind a real phone's User-Agent: wrong passwords for alice, `rate` per second
        (far below any flood threshold)."""
        users = self._users("slow", [("alice", f"guess{n}") for n in range(attempts)])
        extra = ["-inf", str(users), "-key", "ua", PHONE_UA]
        return self.sipp(
            "slow", "register.xml", attempts, rate, extra, timeout_s=attempts // rate + 2
        ).returncode


class Phonewarden:
    """`phonewarden serve` inside the server namespace: HEP from Kamailio in, nftables + Kamailio out."""

    def __init__(self, lab: NetLab, workdir: Path, hep_port: int = 9060, console_port: int = 8080) -> None:
        self.lab, self.console_port = lab, console_port
        self.config = workdir / "phonewarden.toml"
        self.config.write_text(
            f'data_dir = "{workdir / "var"}"\nlog_level = "info"\n'
            f'[console]\nhost = "127.0.0.1"\nport = {console_port}\n'
            f'[hep]\nhost = "127.0.0.1"\nport = {hep_port}\ntransports = ["udp"]\n'
            '[shield]\nenforcers = ["nftables", "kamailio"]\nnft_table = "phonewarden"\n'
            'kamailio_rpc_url = "http://127.0.0.1:5071/RPC"\n'
            f"flood_requests = {LAB_FLOOD_REQUESTS}\n"
        )
        self.log = workdir / "phonewarden.log"

    def start(self) -> subprocess.Popen[Any]:
        binary = REPO / ".venv" / "bin" / "phonewarden"
        assert binary.exists(), f"{binary} missing: install phonewarden into .venv (make install)"
        argv = [str(binary), "--config", str(self.config), "serve"]
        with open(self.log, "wb") as log:  # the child keeps its own descriptor
            process = self.lab.popen("srv", argv, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, f"phonewarden serve exited:\n{self.log.read_text()[-3000:]}"
            tables = self.lab.run("srv", ["nft", "list", "tables"], check=False).stdout
            if self.healthy() and "inet phonewarden" in tables:
                return process
            time.sleep(0.2)
        raise AssertionError(f"phonewarden serve did not come up:\n{self.log.read_text()[-3000:]}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def get(self, path: str) -> Any:
        url = f"http://127.0.0.1:{self.console_port}{path}"
        return self.lab.call_in("srv", lambda: json.loads(urllib.request.urlopen(url, timeout=3).read()))

    def healthy(self) -> bool:
        try:
            return bool(self.get("/health"))
        except (OSError, ValueError):
            return False


def scanner_options(source: str, port: int, n: int) -> bytes:
    """One SIPVicious-style OPTIONS (User-Agent friendly-scanner): a single message the shield bans on."""
    return (
        f"OPTIONS sip:100@{SERVER_FOR_ATTACKERS} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {source}:{port};branch=z9hG4bK-{3280387012 + n};rport\r\nMax-Forwards: 70\r\n"
        f'To: "sipvicious"<sip:100@1.1.1.1>\r\nFrom: "sipvicious"<sip:100@1.1.1.1>;tag=6330303030{n:04d}\r\n'
        f"User-Agent: friendly-scanner\r\nCall-ID: {969890095556717129979978 + n}\r\nCSeq: 1 OPTIONS\r\n"
        "Accept: application/sdp\r\nContent-Length: 0\r\n\r\n"
    ).encode()


class BanMonitor:
    """`nft monitor` in the server namespace: when each address was added to a ban set of each table
    (monotonic time). The table `phonewarden` is the shield's; the benchmark adds fail2ban's."""

    LINE = re.compile(r"add element inet (\S+) ban[46]\S* \{ (\S+) ")

    def __init__(self, lab: NetLab) -> None:
        self.added: dict[tuple[str, str], float] = {}
        self.process = lab.popen(
            "srv", ["nft", "monitor", "new", "elements"], stdout=subprocess.PIPE, text=True
        )
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        time.sleep(0.2)  # let nft subscribe before anything is banned

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            match = self.LINE.search(line)
            if match:
                self.added.setdefault((match.group(1), match.group(2)), time.monotonic())

    def wait_for(self, address: str, timeout_s: float, table: str = "phonewarden") -> float | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (table, address) in self.added:
                return self.added[table, address]
            time.sleep(0.001)
        return None

    def close(self) -> None:
        self.process.terminate()


def send_deciding_packet(lab: NetLab, host: str, address: str, n: int) -> float:
    """Send one scanner OPTIONS from `address` of `host`; the monotonic time it left."""
    with lab.socket(host) as sock:
        sock.bind((address, 0))
        packet = scanner_options(address, sock.getsockname()[1], n)
        sent = time.monotonic()
        sock.sendto(packet, (SERVER_FOR_ATTACKERS, SIP_PORT))
    return sent


def ban_latencies(lab: NetLab, host: str, addresses: list[str], timeout_s: float = 2.0) -> list[float]:
    """Seconds from sending one deciding packet (from each address of `host`) to its nft element being there.

    The path is the real one: attacker -> Kamailio -> siptrace HEP -> phonewarden -> nft."""
    monitor = BanMonitor(lab)
    latencies = []
    try:
        for n, address in enumerate(addresses):
            sent = send_deciding_packet(lab, host, address, n)
            added = monitor.wait_for(address, timeout_s)
            assert added is not None, f"{address}: no nftables element within {timeout_s} s"
            latencies.append(added - sent)
    finally:
        monitor.close()
    return latencies
