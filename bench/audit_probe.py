"""Benchmark: `phonewarden audit probe` on a /24 of emulated phones vs SIPVicious svmap on the same /24.

Both run in the same prober network namespace against the same sipp phones (198.51.100.0/24, five
answering). svmap only sends UDP OPTIONS; phonewarden also does TCP/TLS SIP, management ports, TFTP,
TLS facts and (here off) the login check, so the ratio is "full audit vs discovery sweep".
Also times the config lint on 2,000 copies of the fixtures (no peer tool lints phone configs).

Run as root: .venv/bin/python bench/audit_probe.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.audit.conftest import DATA, PHONES
from tests.audit.phones import PhoneLab

from phonewarden.audit import service
from phonewarden.audit.probe_checks import PROBE_CHECKS
from phonewarden.output import decode_json_lines

SVMAP = Path(sys.executable).parent / "sipvicious_svmap"


def bench_probe(lab: PhoneLab, workdir: Path) -> None:
    started = time.monotonic()
    done = lab.probe("198.51.100.0/24", "--json", "--no-login", data_dir=workdir)
    ours = time.monotonic() - started
    found = {r["target"] for r in decode_json_lines(done.stdout.encode()) if r["type"] == "check"}
    started = time.monotonic()
    svmap = subprocess.run(
        ["ip", "netns", "exec", lab.prober, str(SVMAP), "-x", "203.0.113.1", "198.51.100.0/24"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=workdir,
    )
    theirs = time.monotonic() - started
    svmap_found = {
        line.split("|")[1].strip().split(":")[0]
        for line in svmap.stdout.splitlines()
        if line.count("|") >= 3 and "198.51.100." in line
    }
    print(
        f"probe /24: phonewarden {ours:.1f} s, {len(found)} phones, "
        f"{len(PROBE_CHECKS)} checks each (+ TLS, TFTP, ports)"
    )
    print(f"probe /24: svmap       {theirs:.1f} s, {len(svmap_found)} SIP devices (UDP OPTIONS only)")
    print(f"probe /24: ratio phonewarden/svmap time = {ours / theirs:.2f}")


def bench_lint(workdir: Path, copies: int = 2000) -> None:
    files = sorted(
        p for p in DATA.rglob("*") if p.is_file() and p.suffix != ".json" and p.parent.name != "unknown"
    )
    target = workdir / "configs"
    target.mkdir()
    for index in range(copies):
        source = files[index % len(files)]
        shutil.copy(source, target / f"{index:05d}-{source.name}")
    started = time.monotonic()
    outcome = service.lint([target])
    elapsed = time.monotonic() - started
    print(
        f"lint: {copies} files, {len(outcome.results)} checks in {elapsed:.2f} s = "
        f"{copies / elapsed:.0f} files/s "
        "(no peer tool lints phone configs)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        bench_lint(workdir)
        lab = PhoneLab(workdir, PHONES)
        try:
            lab.start()
            bench_probe(lab, workdir)
        finally:
            lab.stop()


if __name__ == "__main__":
    main()
