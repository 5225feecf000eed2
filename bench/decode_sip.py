"""Benchmark: decode a capture of >= 400k SIP packets, phonewarden vs tshark, in the same run.

Builds bench/out/sip-400k.pcap by repeating the SIP frames of the committed real captures (Kamailio/sipp
and SIPVicious traffic), then times
  tshark -r FILE -Y sip -T fields -e ip.src -e sip.Method -e sip.Status-Code -e sip.User-Agent
against phonewarden extracting the same four fields (in process, and via `phonewarden wire dump --json`),
checks both saw the same number of SIP messages, and prints the times and ratios.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

from phonewarden.capture.replay import CaptureReplay
from phonewarden.wire.traffic import TrafficDecoder

REPO = Path(__file__).resolve().parent.parent
SOURCES = ["sip-udp.pcapng", "sip-scan-sipvicious.pcapng", "sip-ipv6.pcapng"]
OUT = REPO / "bench" / "out"


def build_capture(target_packets: int) -> Path:
    path = OUT / f"sip-{target_packets // 1000}k.pcap"
    if path.exists():
        return path
    frames = []
    for name in SOURCES:
        decoder = TrafficDecoder()
        for frame in CaptureReplay(REPO / "tests" / "data" / "captures" / name, progress=False):
            if frame.linktype == 1 and any(r.type == "sip" for r in decoder.feed(frame)):
                frames.append(frame)
    if not frames:
        sys.exit("no SIP frames found in the source captures")
    OUT.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        start = 1_700_000_000.0
        for index in range(target_packets):
            frame = frames[index % len(frames)]
            stamp = start + index * 0.0001
            seconds = int(stamp)
            micros = int((stamp - seconds) * 1e6)
            out.write(struct.pack("<IIII", seconds, micros, len(frame.data), len(frame.data)))
            out.write(frame.data)
    return path


def time_tshark(path: Path) -> tuple[float, int]:
    tshark = shutil.which("tshark")
    if tshark is None:
        sys.exit("tshark is not installed (make debs)")
    argv = [
        tshark,
        "-r",
        str(path),
        "-Y",
        "sip",
        "-T",
        "fields",
        "-e",
        "ip.src",
        "-e",
        "sip.Method",
        "-e",
        "sip.Status-Code",
        "-e",
        "sip.User-Agent",
    ]
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, check=True)
    return time.perf_counter() - started, result.stdout.count(b"\n")


def time_phonewarden(path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    decoder = TrafficDecoder()
    count = 0
    for frame in CaptureReplay(path, progress=False):
        for record in decoder.feed(frame):
            if record.type == "sip":
                message = record.body
                _ = (record.segment.src, message.method, message.status, message.user_agent)
                count += 1
    return time.perf_counter() - started, count


def time_dump_cli(path: Path) -> tuple[float, int]:
    argv = [
        str(Path(sys.executable).parent / "phonewarden"),
        "wire",
        "dump",
        str(path),
        "--json",
        "--type",
        "sip",
    ]
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, check=True)
    return time.perf_counter() - started, result.stdout.count(b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packets", type=int, default=400_000)
    args = parser.parse_args()
    path = build_capture(args.packets)
    print(f"capture: {path} ({path.stat().st_size / 1e6:.1f} MB, {args.packets} SIP packets)")
    tshark_seconds, tshark_count = time_tshark(path)
    ours_seconds, ours_count = time_phonewarden(path)
    cli_seconds, cli_count = time_dump_cli(path)
    print(f"tshark -Y sip -T fields (4 fields): {tshark_seconds:7.2f} s  {tshark_count} messages")
    print(
        f"phonewarden decode (same 4 fields): {ours_seconds:7.2f} s  {ours_count} messages"
        f"  ratio {tshark_seconds / ours_seconds:.1f}x"
    )
    print(
        f"phonewarden wire dump --json:       {cli_seconds:7.2f} s  {cli_count} messages"
        f"  ratio {tshark_seconds / cli_seconds:.1f}x"
    )
    if not (tshark_count == ours_count == cli_count):
        sys.exit("message counts differ: the comparison is not valid")


if __name__ == "__main__":
    main()
