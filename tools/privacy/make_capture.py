"""Build a privacy test capture from real clients and servers, then rewrite it to look like the internet.

Real programs talk over loopback addresses 127.A.B.x chosen from this process id (so parallel runs do not
mix): curl (activation POST with a base64 JSON body, tracker GETs with hashed/encoded identifiers, benign
JSON with random Luhn-valid numbers), dig against a small DNS server, TLS with SNI and without (curl to
openssl s_server). dumpcap records only 127.A.B.0/24. Afterwards the pcap's addresses are rewritten so the
devices stand in 198.51.100.0/24 and the servers at the foreign addresses of SERVERS, which are never
contacted. Writes CAPTURE, CAPTURE.devices.json and CAPTURE.expected.json (the planted tier-1 leaks).

usage: python tools/privacy/make_capture.py OUT.pcap [--benign N]      (root: dumpcap on lo, ports 53/80/443)
needs (Debian): tshark (dumpcap), curl, bind9-dnsutils (dig), openssl.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rewrite import rewrite_pcap

HERE = Path(__file__).resolve().parent
A, B = 20 + os.getpid() % 200, (os.getpid() // 200) % 250 + 1
NET = f"127.{A}.{B}"
NOKIA = {"name": "nokia-7-plus", "kind": "smartphone", "ip": "198.51.100.11", "imei": "352099001761481",
         "imsi": "460031234567898", "iccid": "89860318640220133897", "mac": "4c:bc:98:12:34:56",
         "cell_id": "219769344"}  # fmt: skip
SNOM = {"name": "snom-d785", "kind": "desk phone", "mac": "00:04:13:aa:bb:cc", "serial": "SN0004133F9A2",
        "sip_user": "alice-4711"}  # fmt: skip
UNKNOWN = {"name": "guest-phone", "kind": "smartphone", "ip": "198.51.100.13"}
CLIENTS = {"nokia": (11, "198.51.100.11"), "snom": (12, "198.51.100.12"), "guest": (13, "198.51.100.13")}
# local last octet -> (foreign address, name); the foreign addresses are only written into the file
SERVERS = {
    101: ("202.97.1.10", "zzhc.vnet.cn"),  # China Telecom (CN)
    102: ("85.214.1.10", "provisioning.snom.com"),  # Strato (DE)
    103: ("8.8.4.4", None),  # Google (US, anycast)
    104: ("85.214.2.20", "shop.example.de"),  # Strato (DE)
    105: ("1.0.16.10", "stats.tracker.example"),  # JP
    53: ("9.9.9.9", None),  # resolver (Quad9)
}
GUEST_IDS = {"IMEI1": "356938035643809", "SIM1LTEIMSI": "262011234567890", "MACID": "F0:18:98:01:02:03"}


def luhn_complete(body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char) * (2 if index % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return body + str((10 - total % 10) % 10)


def zzhc_body(ids: dict[str, str]) -> bytes:
    fields = {"REGVER": "1", "MODEL": "TA-1046", "SWVER": "00WW_2_130", "UETYPE": "1", **ids,
              "ACCESSTYPE": "1", "REGDATE": "2026-11-25 10:00:00"}  # fmt: skip
    return base64.encodebytes(json.dumps(fields).encode())  # 76-character lines, like Android Base64.DEFAULT


def plan(work: Path, rng: random.Random, benign: int) -> tuple[list[list[str]], list[dict[str, str]]]:
    """The client commands to run, and the tier-1 leaks they plant."""

    def curl(client: str, url: str, *extra: str) -> list[str]:
        return ["curl", "-s", "-o", "/dev/null", "-m", "5", "--interface", f"{NET}.{CLIENTS[client][0]}",
                *extra, url]  # fmt: skip

    def resolve(name: str, last: int, port: int = 80) -> list[str]:
        return ["--resolve", f"{name}:{port}:{NET}.{last}"]

    imei, imsi, mac = NOKIA["imei"], NOKIA["imsi"], NOKIA["mac"]
    zzhc = work / "zzhc.b64"
    zzhc.write_bytes(zzhc_body({"IMEI1": imei, "SIM1LTEIMSI": imsi, "SIM1ICCID": NOKIA["iccid"],
                                "MACID": mac.upper(), "SIM1CELLID": NOKIA["cell_id"]}))  # fmt: skip
    guest = work / "guest.b64"
    guest.write_bytes(zzhc_body(GUEST_IDS))
    md5_imei = hashlib.md5(imei.encode()).hexdigest()
    sha_imsi = hashlib.sha256(imsi.encode()).hexdigest()
    commands = [
        ["dig", f"@{NET}.53", "-b", f"{NET}.11", "+tries=1", "+time=2", "zzhc.vnet.cn"],
        curl("nokia", "http://zzhc.vnet.cn/", *resolve("zzhc.vnet.cn", 101), "-H",
             "Content-Type: application/encrypted-json", "--data-binary", f"@{zzhc}"),
        curl("nokia", f"http://stats.tracker.example/c?u={md5_imei}&m={quote(mac, safe='')}&t=1732530000",
             *resolve("stats.tracker.example", 105)),
        curl("nokia", f"http://stats.tracker.example/p?sid={sha_imsi}&h={imei.encode().hex().upper()}",
             *resolve("stats.tracker.example", 105)),
        curl("nokia", f"https://{NET}.103/", "-k"),  # an address literal: TLS without SNI
        curl("snom", "https://provisioning.snom.com/", "-k", *resolve("provisioning.snom.com", 102, 443)),
        curl("snom", "http://provisioning.snom.com/telemetry", *resolve("provisioning.snom.com", 102),
             "--data", f"mac=000413aabbcc&sn={SNOM['serial']}&fw=10.1.175.12"),
        ["dig", f"@{NET}.53", "-b", f"{NET}.12", "+tries=1", "+time=2", "000413aabbcc.config.snom.example"],
        curl("guest", "http://zzhc.vnet.cn/", *resolve("zzhc.vnet.cn", 101), "--data-binary", f"@{guest}"),
    ]  # fmt: skip
    planted = [
        *({"device": NOKIA["name"], "identifier": k, "encoding": "base64", "host": "zzhc.vnet.cn"}
          for k in ("imei", "imsi", "iccid", "mac", "cell_id")),
        {"device": NOKIA["name"], "identifier": "imei", "encoding": "md5", "host": "stats.tracker.example"},
        {"device": NOKIA["name"], "identifier": "mac", "encoding": "url", "host": "stats.tracker.example"},
        {"device": NOKIA["name"], "identifier": "imsi", "encoding": "sha256",
         "host": "stats.tracker.example"},
        {"device": NOKIA["name"], "identifier": "imei", "encoding": "hex", "host": "stats.tracker.example"},
        {"device": SNOM["name"], "identifier": "mac", "encoding": "plain", "host": "provisioning.snom.com"},
        {"device": SNOM["name"], "identifier": "serial", "encoding": "plain",
         "host": "provisioning.snom.com"},
        {"device": SNOM["name"], "identifier": "mac", "encoding": "plain", "host": "9.9.9.9"},
    ]  # fmt: skip
    for index in range(benign):
        numbers = [luhn_complete(str(rng.randrange(10**13, 10**14))) for _ in range(4)]
        order = {"order": f"ORD-{rng.randrange(10**9)}", "ts": 1732530000 + index, "items": numbers,
                 "ref": rng.randrange(10**15, 10**16), "cart": rng.randbytes(24).hex()}  # fmt: skip
        client = ("nokia", "snom")[index % 2]
        commands.append(curl(client, f"http://shop.example.de/api/order?n={numbers[0]}",
                             *resolve("shop.example.de", 104), "--json", json.dumps(order)))  # fmt: skip
    return commands, planted


def start(argv: list[str], work: Path, name: str) -> subprocess.Popen[bytes]:
    log = (work / f"{name}.log").open("wb")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--benign", type=int, default=20)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    for tool in ("dumpcap", "curl", "dig", "openssl"):
        if not shutil.which(tool):
            sys.exit(f"missing {tool}: apt-get install tshark curl bind9-dnsutils openssl")
    work = Path(tempfile.mkdtemp(prefix="pwprivacy."))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        "/CN=test", "-keyout", str(work / "key.pem"), "-out", str(work / "cert.pem")],
                       check=True, capture_output=True, timeout=30)  # fmt: skip
        raw = work / "raw.pcap"
        dumpcap = start(["dumpcap", "-q", "-i", "lo", "-P", "-a", "duration:60", "-f", f"net {NET}.0/24",
                         "-w", str(raw)], work, "dumpcap")  # fmt: skip
        processes.append(dumpcap)
        table = [f"{name}={foreign}" for foreign, name in SERVERS.values() if name]
        processes.append(start([sys.executable, str(HERE / "servers.py"), "dns", f"{NET}.53", "53", *table],
                               work, "dns"))  # fmt: skip
        for last in (101, 102, 104, 105):
            processes.append(start([sys.executable, str(HERE / "servers.py"), "http", f"{NET}.{last}", "80"],
                                   work, f"http{last}"))  # fmt: skip
        for last in (102, 103):
            processes.append(start(["openssl", "s_server", "-quiet", "-www", "-accept", f"{NET}.{last}:443",
                                    "-cert", str(work / "cert.pem"), "-key", str(work / "key.pem")],
                                   work, f"tls{last}"))  # fmt: skip
        time.sleep(1.5)  # dumpcap and the servers need a moment to listen
        commands, planted = plan(work, random.Random(args.seed), args.benign)
        for command in commands:
            subprocess.run(command, capture_output=True, timeout=10)
        time.sleep(0.5)
        dumpcap.send_signal(signal.SIGINT)
        dumpcap.wait(timeout=10)
        mapping = {f"{NET}.{last}": foreign for last, (foreign, _) in SERVERS.items()}
        mapping.update({f"{NET}.{last}": ip for last, ip in CLIENTS.values()})
        macs = {CLIENTS["snom"][1]: bytes.fromhex(SNOM["mac"].replace(":", ""))}
        frames = rewrite_pcap(raw, args.out, mapping, macs)
        args.out.with_suffix(".devices.json").write_text(json.dumps([NOKIA, SNOM, UNKNOWN], indent=1))
        args.out.with_suffix(".expected.json").write_text(json.dumps(planted, indent=1))
        print(f"{args.out}: {frames} frames, {len(planted)} planted tier-1 leaks, net {NET}.0/24")
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
