"""Benchmark: the shield of another source tree (e.g. the previous commit) against this one, in the same run
as tshark, each replay in a fresh process; the findings and ban decisions of both must be the same (their
JSON is compared by digest). Prepare the other tree without touching git state:

    mkdir -p /tmp/before && git archive HEAD src | tar -x -C /tmp/before
    .venv/bin/python bench/shield_before_after.py /tmp/before/src --rounds 2
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ONE = """
import hashlib, sys, time
from pathlib import Path
from phonewarden.capture.replay import CaptureReplay
from phonewarden.shield import service
from phonewarden.shield.settings import ShieldSettings
from phonewarden.wire.traffic import TrafficDecoder
started = time.perf_counter()
decoder, shield = TrafficDecoder(), service.ShieldService(ShieldSettings())
frames = CaptureReplay(Path(sys.argv[1]), progress=False)
outputs = []
if hasattr(shield, "replay"):  # as `phonewarden shield replay` does since it has one
    outputs.extend(shield.replay(frames, decoder))
else:
    for frame in frames:
        for record in decoder.feed(frame):
            outputs.extend(shield.process(record))
seconds = time.perf_counter() - started
digest = hashlib.sha256(repr([output.to_json() for output in outputs]).encode()).hexdigest()[:16]
print(seconds, digest, len(outputs), service.__file__)
"""


def replay(path: Path, src: Path | None) -> tuple[float, str]:
    """Seconds, and a digest and count of every finding and decision the replay produced."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    done = subprocess.run(
        [sys.executable, "-c", ONE, str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=900,
    )
    seconds, digest, count, module = done.stdout.split()
    expected = str(src) if src is not None else str(HERE.parent / "src")
    if not module.startswith(expected):
        sys.exit(f"replay imported {module}, not from {expected}")
    return float(seconds), f"{count} outputs, digest {digest}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("before", type=Path, help="a src/ directory holding the other phonewarden package")
    parser.add_argument("--packets", type=int, default=400_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("decode_sip", HERE / "decode_sip.py")
    assert spec is not None and spec.loader is not None
    decode_sip = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(decode_sip)
    path = decode_sip.build_capture(args.packets)
    for round_ in range(1, args.rounds + 1):
        tshark, _ = decode_sip.time_tshark(path)
        decode, _ = decode_sip.time_phonewarden(path)
        after, after_outputs = replay(path, None)
        before, before_outputs = replay(path, args.before.resolve())
        if after_outputs != before_outputs:
            sys.exit(f"findings/decisions differ: before {before_outputs}, after {after_outputs}")
        print(
            f"round {round_}: tshark {tshark:.2f} s | decoder alone {decode:.2f} s ({tshark / decode:.2f}x)"
            f" | shield before {before:.2f} s ({tshark / before:.2f}x)"
            f" | after {after:.2f} s ({tshark / after:.2f}x) | same {after_outputs}",
            flush=True,
        )


if __name__ == "__main__":
    main()
