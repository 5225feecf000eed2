"""Config fetches per second over HTTPS keep-alive with the gate on, vs `openssl s_server -WWW` serving the
same rendered file; the same client (http.client, one keep-alive connection) measures both in one run.

    .venv/bin/python bench/provisioning_fetch.py [--requests 3000]
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from tests.provisioning.pki import CA  # noqa: E402

MAC = "0015654c4c26"
UA = "Yealink SIP-T46S 66.86.0.15 00:15:65:4c:4c:26"
TIME_LIMIT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def measure(port: int, path: str, requests: int, context: ssl.SSLContext) -> tuple[float, int]:
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    ok, start = 0, time.perf_counter()
    for _ in range(requests):
        if time.perf_counter() - start > TIME_LIMIT_S:
            break
        conn.request("GET", path, headers={"User-Agent": UA})
        response = conn.getresponse()
        body = response.read()
        ok += response.status == 200 and b"account.1.password" in body
    elapsed = time.perf_counter() - start
    conn.close()
    return ok / elapsed, ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    openssl = shutil.which("openssl") or sys.exit("openssl missing: apt-get install openssl")
    work = Path(tempfile.mkdtemp(prefix="pw-prov-bench-"))
    ca = CA(work, "server ca")
    server = ca.issue("server", "127.0.0.1", server_ip="127.0.0.1")
    port, peer_port = free_port(), free_port()
    env = {
        **os.environ,
        "PHONEWARDEN_DATABASE_URL": f"sqlite:///{work / 'pw.db'}",
        "PHONEWARDEN_LOG_LEVEL": "warning",
    }
    pw = [str(REPO / ".venv" / "bin" / "phonewarden"), "provision"]
    key = subprocess.run([*pw, "keygen"], capture_output=True, text=True, check=True, env=env).stdout.strip()
    env.update(
        {
            "PHONEWARDEN_PROVISIONING__ENCRYPTION_KEY": key,
            "PHONEWARDEN_PROVISIONING__PORT": str(port),
            "PHONEWARDEN_PROVISIONING__CERTIFICATE": str(server.cert),
            "PHONEWARDEN_PROVISIONING__PRIVATE_KEY": str(server.key),
            "PHONEWARDEN_PROVISIONING__PUBLIC_URL": f"https://127.0.0.1:{port}",
        }
    )

    def cli(*argv: str) -> None:
        subprocess.run([*pw, *argv], check=True, env=env, capture_output=True, cwd=work)

    cli("site", "add", "bench", "--network", "127.0.0.0/8", "--max-fetches", "10000000")
    cli("device", "add", MAC, "--vendor", "yealink", "--model", "T46S", "--site", "bench", "--line", "2001")
    cli("render", MAC, "--out", str(work / "www"))
    ours = subprocess.Popen(
        [*pw, "serve"], env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peer = subprocess.Popen(
        [
            openssl,
            "s_server",
            "-quiet",
            "-WWW",
            "-accept",
            str(peer_port),
            "-cert",
            str(server.cert),
            "-key",
            str(server.key),
        ],
        cwd=work / "www",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        wait_port(peer_port)
        context = ssl.create_default_context(cafile=str(ca.issued.cert))
        rate, ok = measure(port, f"/{MAC}.cfg", args.requests, context)
        peer_rate, peer_ok = measure(peer_port, f"/{MAC}.cfg", args.requests, context)
    finally:
        for process in (ours, peer):
            process.terminate()
            process.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"phonewarden (gate on, HTTPS keep-alive): {rate:8.0f} fetches/s ({ok} configs)")
    print(f"openssl s_server -WWW (same file, a TLS connection per request): {peer_rate:8.0f}/s ({peer_ok})")
    print(
        f"ratio phonewarden / openssl: {rate / peer_rate:.2f} "
        f"(target >= 500 fetches/s: {'met' if rate >= 500 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
