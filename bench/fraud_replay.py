"""Fraud guard benchmark: CDR replay throughput (vs awk and Python csv on the same file) and authorize p99.

Run: .venv/bin/python bench/fraud_replay.py [accounts] [weeks] [--runs=N] [--replay-only]
Replay speed is given in wall time and in this process's CPU time: on shared cores the CPU time says
what one core does (the issue's "one core" number), the wall time what a busy host gave; the load
average is printed with each result, and the best of the runs. The replay reads as `fraud replay`
does (a chunk's new numbers rated together, FraudEngine.rated_ahead), then CDR by CDR as a follower or
a push feeds them. The authorize server runs uvicorn with httptools + uvloop when installed (as
`phonewarden serve` should), else h11 + asyncio, with a PBX token configured and sent as
`Authorization: Bearer` (as in production); its CPU time per request is read from /proc.
"""

from __future__ import annotations

import csv
import gc
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import uvicorn
from fastapi import FastAPI
from tests.conftest import free_port
from tests.fraud.scenario import build, cdr_lines

from phonewarden.fraud import service as service_module
from phonewarden.fraud.api import router
from phonewarden.fraud.engine import FraudEngine
from phonewarden.fraud.pbx_auth import digest, new_token
from phonewarden.fraud.readers import ReadReport, read_cdrs
from phonewarden.fraud.settings import FraudSettings, PbxToken

TOKEN = new_token()


def load() -> str:
    """The 1-minute load average: how much else ran on the shared cores."""
    return f"load {os.getloadavg()[0]:.1f}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def replay(path: Path, ahead: bool = True) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and CDRs of one end-to-end replay (parse, rate, detect). `ahead`: as
    `fraud replay` reads a file, a chunk's new numbers rated together (FraudEngine.rated_ahead);
    else CDR by CDR, as a follower or a push feeds them."""
    engine = FraudEngine(FraudSettings())
    report = ReadReport()
    started, cpu = time.perf_counter(), time.process_time()
    cdrs = read_cdrs(path, engine.settings, report)
    for cdr in engine.rated_ahead(cdrs) if ahead else cdrs:
        engine.on_cdr(cdr)
    return time.perf_counter() - started, time.process_time() - cpu, report.cdrs


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


def server_stack() -> tuple[str, str]:
    """uvicorn's fast HTTP parser and event loop when installed: (http, loop)."""
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return http, loop


def serve(port: int, http: str, loop: str, token_sha256: str) -> None:
    """Child process: the authorize API alone (a server sharing the client's GIL would measure the GIL)."""
    service_module.get_service(FraudSettings(pbx_tokens=[PbxToken(name="bench", sha256=token_sha256)]))
    app = FastAPI()
    app.include_router(router, prefix="/api/v1/fraud")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", http=http, loop=loop)


def _serve(http: str, loop: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    child = subprocess.Popen([sys.executable, __file__, "--serve", str(port), http, loop, digest(TOKEN)])
    url = f"http://127.0.0.1:{port}/api/v1/fraud/authorize"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            httpx.get(url, params={"account": "a", "destination": "1"}, headers=headers, timeout=1)
            return child, url
        except httpx.TransportError:
            time.sleep(0.1)
    child.kill()
    raise RuntimeError("authorize server did not start")


def _paced_worker(port: int, path: str, times: list[float], out: list[float]) -> None:
    """One keep-alive connection sending its share of requests at their scheduled times (open loop)."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
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
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"authorize answered {head.splitlines()[0]!r}")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            while len(body) < length:
                body += sock.recv(65536)
            out.append(time.perf_counter() - due)  # from the scheduled time: queueing counts too


def authorize_latency(
    http: str, loop: str, requests: int = 5000, rate: float = 1000.0, connections: int = 8
) -> dict[str, Any]:
    server, url = _serve(http, loop)
    port = int(url.split(":")[2].split("/")[0])
    path = "/api/v1/fraud/authorize?format=text&account=a1&destination=0025261234567"
    try:
        server_cpu = cpu_seconds(server.pid)
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
        server_cpu = cpu_seconds(server.pid) - server_cpu
        paced_load = load()
        wrk = shutil.which("wrk")
        if wrk:  # peer load generator (closed loop, 4 connections, 5 s): capacity and its latency
            command = [wrk, "-t1", "-c4", "-d5s", "--latency", "-H", f"Authorization: Bearer {TOKEN}"]
            command.append(f"http://127.0.0.1:{port}{path}")
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
        "server_cpu_us": server_cpu / len(latencies) * 1e6,
        "load": paced_load,
    }


def console_asgi_cost(requests: int = 3000) -> dict[str, float]:
    """CPU µs of one /authorize call through the whole console app (create_app, in process, no socket),
    as served today and with AuthorizeFirst in front of its middleware stack."""
    import asyncio

    from phonewarden.console.app import create_app
    from phonewarden.fraud.authorize_http import AuthorizeFirst
    from phonewarden.settings import Settings
    from phonewarden.store.migrate import upgrade

    path = "/api/v1/fraud/authorize"
    with tempfile.TemporaryDirectory() as folder:
        fraud = FraudSettings(pbx_tokens=[PbxToken(name="bench", sha256=digest(TOKEN))])
        settings = Settings(data_dir=Path(folder), fraud=fraud)
        upgrade(settings.database_url)
        app = create_app(settings, start_hep=False)
        service_module.get_service(fraud)
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": b"format=text&account=a1&destination=0025261234567",
            "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {TOKEN}".encode())],
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8080),
        }  # fmt: skip

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def measure(target: Any) -> float:
            bodies: list[bytes] = []

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.body":
                    bodies.append(message["body"])

            for _ in range(200):
                await target(dict(scope), receive, send)
            best = float("inf")
            for _ in range(3):
                started = time.process_time()
                for _ in range(requests):
                    await target(dict(scope), receive, send)
                best = min(best, (time.process_time() - started) / requests * 1e6)
            if b"allow" not in bodies[-2:]:  # through BaseHTTPMiddleware an empty last chunk follows
                raise RuntimeError(f"authorize answered {bodies[-2:]!r}")
            return best

        async def both() -> dict[str, float]:
            return {"console": await measure(app), "first": await measure(AuthorizeFirst(app, path))}

        return asyncio.run(both())


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5])
        return
    replay_only = "--replay-only" in sys.argv
    runs = next((int(arg.split("=")[1]) for arg in sys.argv if arg.startswith("--runs=")), 3)
    numbers = [int(arg) for arg in sys.argv[1:] if arg.isdigit()]
    accounts = numbers[0] if numbers else 300
    weeks = numbers[1] if len(numbers) > 1 else 4
    calls, _ = build(seed=11, accounts=accounts, weeks=weeks)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "Master.csv"
        path.write_text("".join(cdr_lines(calls)))
        del calls  # 129k generator objects left alive would make every full GC pass of the replay slower
        gc.collect()
        for ahead in (True, False):
            best = float("inf")
            for _ in range(runs):
                seconds, cpu, cdrs = replay(path, ahead)
                best = min(best, cpu)
                print(
                    f"fraud replay{'' if ahead else ' CDR by CDR'}: {cdrs} CDRs in {seconds:.2f} s = "
                    f"{cdrs / seconds:,.0f} CDRs/s wall, {cdrs / cpu:,.0f} CDRs/s per CPU second "
                    f"(parse+rate+detect, one core); {load()}"
                )
            print(
                f"  best of {runs}{'' if ahead else ' CDR by CDR'}: {cdrs / best:,.0f} CDRs per CPU second "
                f"= {best / cdrs * 1e6:.2f} µs CPU a CDR"
            )
        seconds, cpu, cdrs = replay(path)  # the peers are compared with the replay as `fraud replay` runs
        for name, peer in peers(path).items():
            print(
                f"  peer {name}: {peer:.3f} s = {cdrs / peer:,.0f} rows/s; phonewarden/peer time ratio "
                f"{seconds / peer:.1f}x"
            )
    if replay_only:
        return
    cost = console_asgi_cost()
    print(
        f"authorize in the whole console app (in process, no socket, best of 3): {cost['console']:.0f} µs "
        f"CPU a request as mounted today, {cost['first']:.0f} µs with AuthorizeFirst; {load()}"
    )
    fast = server_stack()
    for http, loop in dict.fromkeys([fast, ("h11", "asyncio")]):
        result = authorize_latency(http, loop)
        print(
            f"authorize over HTTP ({http}+{loop}, format=text, PBX token), paced at {result['rate']:.0f} "
            f"req/s (5000 requests, 8 connections): p50 {result['p50']:.2f} ms, p99 {result['p99']:.2f} ms; "
            f"server CPU {result['server_cpu_us']:.0f} µs a request; {result['load']}"
        )


if __name__ == "__main__":
    main()
