"""Benchmark: the shield's replay with every detector on vs tshark's field extraction, and a spoofed flood.

1. Replay bench/out/sip-400k.pcap (built by bench/decode_sip.py from the committed real captures) through
   decoder + all shield detectors + policy, in process and via `phonewarden shield replay --json`, against
   the tshark command of bench/decode_sip.py on the same file in the same run. Target: >= 3x tshark.
2. In a fresh process: 1,000,000 requests (OPTIONS, REGISTER and every method with a flood limit of its own)
   from distinct spoofed sources with a real flooder (one request in
   50) inside; peak RSS must stay <= 512 MB and the flooder must still be banned.
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

from phonewarden.capture.replay import CaptureReplay
from phonewarden.core.records import Segment
from phonewarden.shield.service import ShieldService
from phonewarden.shield.settings import ShieldSettings
from phonewarden.wire.sip import parse_sip
from phonewarden.wire.traffic import NetworkRecord, TrafficDecoder

HERE = Path(__file__).resolve().parent
ATTACKER = "203.0.113.66"
RSS_LIMIT_MB = 512


def _decode_sip_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("decode_sip", HERE / "decode_sip.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_shield(path: Path) -> tuple[float, int, ShieldService]:
    started = time.perf_counter()
    decoder = TrafficDecoder()
    service = ShieldService(ShieldSettings())
    count = 0
    for frame in CaptureReplay(path, progress=False):
        for record in decoder.feed(frame):
            service.process(record)
            count += record.type == "sip"
    return time.perf_counter() - started, count, service


def time_cli(path: Path) -> tuple[float, dict[str, object]]:
    argv = [str(Path(sys.executable).parent / "phonewarden"), "shield", "replay", str(path), "--json"]
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, check=True, timeout=600)
    import json

    return time.perf_counter() - started, json.loads(result.stdout.splitlines()[-1])


def spoofed_flood(total: int) -> None:
    """Runs in its own process: prints 'banned=<bool> rss_mb=<peak> seconds=<t> evictions=<n>'."""
    service = ShieldService(ShieldSettings())
    template = (
        "{m} sip:pbx.example.test SIP/2.0\r\nVia: SIP/2.0/UDP {src}:5060;branch=z9hG4bK{n}\r\n"
        "From: <sip:probe@pbx.example.test>;tag={n}\r\nTo: <sip:pbx.example.test>\r\nCall-ID: {n}@x\r\n"
        "CSeq: 1 {m}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    # Every method with a limit of its own fills its own bucket table too: the worst case for memory.
    methods = ["OPTIONS", "REGISTER", *service.settings.flood_method_requests]
    started = time.perf_counter()
    for n in range(total):
        src = f"{10 + (n >> 24) % 200}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}" if n % 50 else ATTACKER
        raw = template.format(m=methods[n % len(methods)], src=src, n=n).encode()
        segment = Segment(1_700_000_000 + n / 20_000, "udp", src, 5060, "198.51.100.1", 5060, raw)
        service.process(NetworkRecord("sip", segment, parse_sip(raw)))
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    flood = [service.flood.requests, *service.flood.per_method.values()]
    evictions = f"{sum(b.evictions for b in flood)}/{service.matcher.pending.evictions}"
    print(
        f"banned={ATTACKER in service.banned} rss_mb={rss_mb:.0f} seconds={seconds:.1f} evictions={evictions}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packets", type=int, default=400_000)
    parser.add_argument("--spoofed", type=int, default=1_000_000)
    parser.add_argument("--flood-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flood_only:
        spoofed_flood(args.spoofed)
        return
    decode_sip = _decode_sip_bench()
    path = decode_sip.build_capture(args.packets)
    print(f"capture: {path} ({path.stat().st_size / 1e6:.1f} MB, {args.packets} SIP packets)")
    tshark_seconds, tshark_count = decode_sip.time_tshark(path)
    ours_seconds, ours_count, service = time_shield(path)
    cli_seconds, summary = time_cli(path)
    print(f"tshark -Y sip -T fields (4 fields):   {tshark_seconds:7.2f} s  {tshark_count} messages")
    print(
        f"shield, all detectors (in process):    {ours_seconds:7.2f} s  {ours_count} messages"
        f"  ratio {tshark_seconds / ours_seconds:.1f}x  findings {dict(service.finding_counts)}"
    )
    print(
        f"phonewarden shield replay --json:      {cli_seconds:7.2f} s  {summary['sip_messages']} messages"
        f"  ratio {tshark_seconds / cli_seconds:.1f}x  banned {summary['banned']}"
    )
    if tshark_count != ours_count:
        sys.exit(f"message counts differ ({tshark_count} vs {ours_count}): the comparison is not valid")
    flood = subprocess.run(
        [sys.executable, __file__, "--flood-only", "--spoofed", str(args.spoofed)],
        capture_output=True, text=True, check=True, timeout=1200,
    )  # fmt: skip
    facts = dict(item.split("=") for item in flood.stdout.split())
    print(
        f"spoofed flood: {args.spoofed} distinct sources in {facts['seconds']} s, "
        f"peak RSS {facts['rss_mb']} MB "
        f"(limit {RSS_LIMIT_MB}), evictions flood/pending {facts['evictions']}, "
        f"real flooder banned: {facts['banned']}"
    )
    if facts["banned"] != "True" or float(facts["rss_mb"]) > RSS_LIMIT_MB:
        sys.exit("spoofed-flood check failed")


if __name__ == "__main__":
    main()
