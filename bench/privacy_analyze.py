"""Benchmark: `privacy analyze` on a mixed capture of >= 300k packets, and identifier matching, vs tshark.

Builds bench/out/privacy-mixed.pcap by repeating tests/data/privacy/activation.pcap (real curl/dig/openssl
traffic: DNS, plain HTTP with leaks and benign JSON, TLS with and without SNI) with a new client port per
copy, so every copy is new flows rather than retransmissions. Then, in the same run:
  tshark -r FILE -T fields -e ip.dst -e dns.qry.name -e tls.handshake.extensions_server_name -e http.host
against phonewarden's full analysis (destinations, names, countries, tier-1 and tier-2 leaks, verdicts), and
the Aho-Corasick matcher alone over 1,400-byte payload chunks. Prints wall and CPU time of both (ours:
time.process_time; tshark: the RUSAGE_CHILDREN delta), their ratio, and the load average, because the
machine is shared. The ASN table is built once beforehand (timed apart): every round then maps it, as a
fresh `analyze` on a machine that has run once does.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from phonewarden.capture.replay import CaptureReplay
from phonewarden.privacy.asntable import load_table
from phonewarden.privacy.geo import asn_database, data_sources
from phonewarden.privacy.inventory import Device, load_inventory
from phonewarden.privacy.matcher import IdentifierMatcher
from phonewarden.privacy.policy import parse_policy
from phonewarden.privacy.service import Analysis, analyze_capture
from phonewarden.wire.traffic import TrafficDecoder

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "tests" / "data" / "privacy" / "activation.pcap"
OUT = REPO / "bench" / "out"


def build_capture(target: int) -> Path:
    path = OUT / f"privacy-mixed-{target // 1000}k.pcap"
    if path.exists():
        return path
    frames = list(CaptureReplay(SOURCE, progress=False))
    devices = {b"\xc6\x33\x64" + bytes([n]) for n in (11, 12, 13)}  # 198.51.100.11-13
    OUT.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        written, copy = 0, 0
        while written < target:
            shift = copy * 0.05
            for frame in frames:
                data = bytearray(frame.data)
                if data[12:14] == b"\x08\x00" and len(data) >= 38:
                    side = 34 if bytes(data[26:30]) in devices else 36  # the device's own (client) port
                    port = struct.unpack_from("!H", data, side)[0]
                    struct.pack_into("!H", data, side, 1024 + (port + copy * 97) % 64000)
                stamp = frame.time + shift
                out.write(struct.pack("<IIII", int(stamp), int(stamp % 1 * 1e6), len(data), len(data)))
                out.write(data)
                written += 1
            copy += 1
    return path


def time_tshark(path: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the child) of tshark reading the capture."""
    argv = ["tshark", "-r", str(path), "-T", "fields", "-e", "ip.dst", "-e", "dns.qry.name",
            "-e", "tls.handshake.extensions_server_name", "-e", "http.host"]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def time_analyze(path: Path, devices: list[Device]) -> tuple[float, float, Analysis]:
    """Wall and CPU seconds of one full analysis (reading, geo data loading, verdicts included)."""
    asn_database.cache_clear()  # each round pays the geo data loading, as a fresh `analyze` does
    data_sources.cache_clear()
    start, cpu = time.perf_counter(), time.process_time()
    analysis = analyze_capture(path, devices, [parse_policy("eu")])
    return time.perf_counter() - start, time.process_time() - cpu, analysis


def time_table_build() -> float:
    """CPU seconds of deriving the ASN table from geoip2fast's data (once per machine and data version)."""
    with tempfile.TemporaryDirectory() as scratch:
        start = time.process_time()
        load_table(Path(scratch))
        return time.process_time() - start


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def payload_chunks(total_bytes: int) -> list[bytes]:
    decoder, blob = TrafficDecoder(), bytearray()
    for frame in CaptureReplay(SOURCE, progress=False):
        for segment in decoder.packets.feed(frame):
            blob += segment.payload
    chunk = 1400
    pieces = [bytes(blob[i : i + chunk]) for i in range(0, len(blob) - chunk, chunk)]
    return [pieces[i % len(pieces)] for i in range(total_bytes // chunk)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packets", type=int, default=320_000)
    parser.add_argument("--match-mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("tshark"):
        sys.exit("tshark missing: apt-get install tshark")
    path = build_capture(args.packets)
    devices = load_inventory(SOURCE.with_suffix(".devices.json"))
    build = time_table_build()
    asn_database()  # builds the cached table if this machine has none yet
    load_before = load_average()
    runs = [time_analyze(path, devices) for _ in range(args.rounds)]
    wall, cpu, analysis = min(runs, key=lambda run: run[1])  # a shared machine: the least disturbed run
    frames = analysis.summary.frames
    tshark_wall, tshark_cpu = min((time_tshark(path) for _ in range(args.rounds)), key=lambda run: run[1])
    print(
        f"capture: {path.name}, {frames} packets, {path.stat().st_size / 1e6:.1f} MB; best of {args.rounds}; "
        f"load average (1, 5, 15 min) before {load_before}, after {load_average()}, {os.cpu_count()} cores"
    )
    print(f"ASN table, one-time build from geoip2fast's data: {build:.2f} s CPU (then mapped per process)")
    print(f"phonewarden privacy analyze: {frames / cpu:,.0f} packets/s CPU ({cpu:.2f} s), "
          f"{frames / wall:,.0f} packets/s wall ({wall:.2f} s); "
          f"{len(analysis.destinations)} destinations, {len(analysis.leaks)} leaks")  # fmt: skip
    print(f"tshark fields (dst, qname, SNI, Host): {frames / tshark_cpu:,.0f} packets/s CPU "
          f"({tshark_cpu:.2f} s), {frames / tshark_wall:,.0f} packets/s wall "
          f"({tshark_wall:.2f} s)")  # fmt: skip
    print(f"ratio analyze/tshark speed: {tshark_cpu / cpu:.2f}x CPU, {tshark_wall / wall:.2f}x wall")
    theirs = tshark_wall
    chunks = payload_chunks(args.match_mb << 20)
    matcher = IdentifierMatcher(devices)
    total = sum(map(len, chunks))
    start = time.process_time()
    hits = sum(len(matcher.scan(chunk)) for chunk in chunks)
    scan = time.process_time() - start
    print(f"identifier matching: {len(matcher)} patterns over {total / 1e6:.0f} MB in 1,400-byte payloads: "
          f"{total / scan / 1e6:.0f} MB/s CPU ({hits} hits); tshark reads this capture at "
          f"{path.stat().st_size / theirs / 1e6:.0f} MB/s")  # fmt: skip


if __name__ == "__main__":
    main()
