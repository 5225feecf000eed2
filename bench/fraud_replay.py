"""Fraud guard benchmark: CDR replay throughput (vs awk and Python csv on the same file) and authorize p99.

Run: .venv/bin/python bench/fraud_replay.py [accounts] [weeks]
"""

from __future__ import annotations

import csv
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import uvicorn
from fastapi import FastAPI
from tests.conftest import free_port
from tests.fraud.scenario import build, cdr_lines

from phonewarden.fraud import service as service_module
from phonewarden.fraud.api import router
from phonewarden.fraud.engine import FraudEngine
from phonewarden.fraud.readers import ReadReport, read_cdrs
from phonewarden.fraud.settings import FraudSettings


def replay(path: Path) -> tuple[float, int]:
    engine = FraudEngine(FraudSettings())
    report = ReadReport()
    started = time.perf_counter()
    for cdr in read_cdrs(path, engine.settings, report):
        engine.on_cdr(cdr)
    return time.perf_counter() - started, report.cdrs


def peers(path: Path) -> dict[str, float]:
    results = {}
    started = time.perf_counter()
    with path.open(newline="") as handle:
        sum(int(row[13]) for row in csv.reader(handle))
    results["python csv sum(billsec)"] = time.perf_counter() - started
    awk = shutil.which("mawk") or shutil.which("awk")
    if awk:
        started = time.perf_counter()
        subprocess.run(
            [awk, "-F,", "{s+=$14} END {print s}"], stdin=path.open(), capture_output=True, check=True
        )
        results[f"{Path(awk).name} sum(billsec)"] = time.perf_counter() - started
    return results


def serve(port: int) -> None:
    """Child process: the authorize API alone (a server sharing the client's GIL would measure the GIL)."""
    service_module.get_service(FraudSettings())
    app = FastAPI()
    app.include_router(router, prefix="/api/v1/fraud")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _serve() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    url = f"http://127.0.0.1:{port}/api/v1/fraud/authorize"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url, params={"account": "a", "destination": "1"}, timeout=1)
            return child, url
        except httpx.TransportError:
            time.sleep(0.1)
    child.kill()
    raise RuntimeError("authorize server did not start")


def _paced_worker(port: int, path: str, times: list[float], out: list[float]) -> None:
    """One keep-alive connection sending its share of requests at their scheduled times (open loop)."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for due in times:
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            sock.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            while len(body) < length:
                body += sock.recv(65536)
            out.append(time.perf_counter() - due)  # from the scheduled time: queueing counts too


def authorize_latency(requests: int = 5000, rate: float = 1000.0, connections: int = 8) -> dict[str, float]:
    server, url = _serve()
    port = int(url.split(":")[2].split("/")[0])
    path = "/api/v1/fraud/authorize?account=a1&destination=0025261234567"
    try:
        start = time.perf_counter() + 0.2
        schedule = [start + index / rate for index in range(requests)]
        latencies: list[float] = []
        workers = [
            threading.Thread(target=_paced_worker, args=(port, path, schedule[k::connections], latencies))
            for k in range(connections)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        achieved = len(latencies) / (time.perf_counter() - start)
        wrk = shutil.which("wrk")
        if wrk:  # peer load generator (closed loop, 4 connections, 5 s): capacity and its latency
            command = [wrk, "-t1", "-c4", "-d5s", "--latency", f"http://127.0.0.1:{port}{path}"]
            out = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True).stdout
            for line in out.splitlines():
                if line.strip().startswith(("99%", "Requests/sec")):
                    print(f"  peer wrk -c4 (saturating): {line.strip()}")
    finally:
        server.terminate()
        server.wait(10)
    latencies.sort()
    return {
        "rate": achieved,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(0.99 * len(latencies))] * 1000,
    }


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]))
        return
    accounts = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    weeks = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    calls, _ = build(seed=11, accounts=accounts, weeks=weeks)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "Master.csv"
        path.write_text("".join(cdr_lines(calls)))
        seconds, cdrs = replay(path)
        print(
            f"fraud replay: {cdrs} CDRs in {seconds:.2f} s = {cdrs / seconds:,.0f} CDRs/s (parse+rate+detect)"
        )
        for name, peer in peers(path).items():
            print(
                f"  peer {name}: {peer:.3f} s = {cdrs / peer:,.0f} rows/s; phonewarden/peer time ratio "
                f"{seconds / peer:.1f}x"
            )
    result = authorize_latency()
    print(
        f"authorize over HTTP, paced at {result['rate']:.0f} req/s (5000 requests): "
        f"p50 {result['p50']:.2f} ms, p99 {result['p99']:.2f} ms"
    )


if __name__ == "__main__":
    main()
