"""Benchmark: the shield's replay with every detector on vs tshark's field extraction, and a spoofed flood.

1. Replay bench/out/sip-400k.pcap (built by bench/decode_sip.py from the committed real captures) through
   decoder + all shield detectors + policy, in process and via `phonewarden shield replay --json`, against
   the tshark command of bench/decode_sip.py on the same file in the same run. Target: >= 3x tshark.
   Each side runs twice and the best run counts, as wall time and as CPU time (ours: process_time around
   the replay; tshark: the children's user + system time). Other work on the machine stretches wall time
   on both sides unevenly, so the CPU-time ratio is the fair one-core comparison; the load average is
   printed with it.
2. In a fresh process: 1,000,000 requests (OPTIONS, REGISTER and every method with a flood limit of its own)
   from distinct spoofed sources with a real flooder (one request in
   50) inside; peak RSS must stay <= 512 MB and the flooder must still be banned.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from phonewarden import _accel
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


@dataclass(frozen=True, slots=True)
class Timing:
    wall: float
    cpu: float


def best(runs: list[Timing]) -> Timing:
    return Timing(min(run.wall for run in runs), min(run.cpu for run in runs))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_tshark(path: Path, decode_sip: ModuleType) -> tuple[Timing, int]:
    cpu_before = _children_cpu()
    wall, count = decode_sip.time_tshark(path)
    return Timing(wall, _children_cpu() - cpu_before), count


def time_shield(path: Path) -> tuple[Timing, int, ShieldService]:
    started, cpu_started = time.perf_counter(), time.process_time()
    decoder = TrafficDecoder()
    service = ShieldService(ShieldSettings())
    for _ in service.replay(CaptureReplay(path, progress=False), decoder):  # as `shield replay` does
        pass
    timing = Timing(time.perf_counter() - started, time.process_time() - cpu_started)
    return timing, service.sip_messages, service


def time_cli(path: Path) -> tuple[Timing, dict[str, object]]:
    """Whole command, start-up and JSON output included."""
    argv = [str(Path(sys.executable).parent / "phonewarden"), "shield", "replay", str(path), "--json"]
    started, cpu_before = time.perf_counter(), _children_cpu()
    result = subprocess.run(argv, capture_output=True, check=True, timeout=600)
    timing = Timing(time.perf_counter() - started, _children_cpu() - cpu_before)
    return timing, json.loads(result.stdout.splitlines()[-1])


def _line(label: str, ours: Timing, tshark: Timing) -> str:
    return (
        f"{label:<38} wall {ours.wall:6.2f} s  cpu {ours.cpu:6.2f} s"
        f"  ratio wall {tshark.wall / ours.wall:.2f}x  cpu {tshark.cpu / ours.cpu:.2f}x"
    )


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
    parser.add_argument("--runs", type=int, default=2, help="runs per side; the best one counts")
    parser.add_argument("--flood-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-flood", action="store_true", help="skip part 2 (the spoofed flood)")
    args = parser.parse_args()
    if args.flood_only:
        spoofed_flood(args.spoofed)
        return
    decode_sip = _decode_sip_bench()
    path = decode_sip.build_capture(args.packets)
    print(f"capture: {path} ({path.stat().st_size / 1e6:.1f} MB, {args.packets} SIP packets)")
    print(f"phonewarden {_accel.status}")  # PHONEWARDEN_PURE_PYTHON=1 measures the pure-Python path
    tshark_runs, ours_runs, cli_runs = [], [], []
    for _ in range(args.runs):  # interleaved, so that a burst of other work hits both sides alike
        tshark_timing, tshark_count = time_tshark(path, decode_sip)
        ours_timing, ours_count, service = time_shield(path)
        cli_timing, summary = time_cli(path)
        tshark_runs.append(tshark_timing)
        ours_runs.append(ours_timing)
        cli_runs.append(cli_timing)
    tshark, ours, cli = best(tshark_runs), best(ours_runs), best(cli_runs)
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"best of {args.runs} runs each; load average (1, 5, 15 min) at the end: {load}")
    print(f"{'tshark -Y sip -T fields (4 fields)':<38} wall {tshark.wall:6.2f} s  cpu {tshark.cpu:6.2f} s"
          f"  {tshark_count} messages")  # fmt: skip
    print(_line("shield, all detectors (in process)", ours, tshark), f" {ours_count} messages")
    print(f"  findings {dict(service.finding_counts)}")
    print(_line("phonewarden shield replay --json", cli, tshark), f" {summary['sip_messages']} messages")
    print(f"  banned {summary['banned']}")
    if tshark_count != ours_count:
        sys.exit(f"message counts differ ({tshark_count} vs {ours_count}): the comparison is not valid")
    if args.no_flood:
        return
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
