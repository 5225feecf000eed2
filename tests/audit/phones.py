"""Emulated phones in network namespaces this test run creates (198.51.100.0/24), and a prober namespace.

Layout: prober ns `pwaP<pid>` (203.0.113.1) -- veth -- phones ns `pwaF<pid>` (203.0.113.2 plus one
198.51.100.x/32 per phone). Nothing is added to the root namespace, so suites running at the same time
cannot collide; the probe itself runs inside the prober namespace, as the operator would run it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools" / "audit"
PEERS = {"sipp": "sip-tester", "socat": "socat", "ip": "iproute2", "ss": "iproute2"}


def require_peers() -> None:
    missing = [
        f"{tool} (Debian package {package})" for tool, package in PEERS.items() if shutil.which(tool) is None
    ]
    if missing:
        pytest.fail(f"peer tools missing: {', '.join(missing)}; install them (scripts/install-debs.sh)")
    if os.geteuid() != 0:
        pytest.fail("network namespaces need root: run the peer tests as root")


def make_certificate(directory: Path, common_name: str, days: int, key_size: int = 2048) -> None:
    """A self-signed cert.pem/key.pem pair like a phone's factory certificate; days < 0 makes it expired."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "snom technology"),
        ]
    )
    now = datetime.now(UTC)
    start, end = (
        (now - timedelta(days=1), now + timedelta(days=days))
        if days > 0
        else (now - timedelta(days=400), now + timedelta(days=days))
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )


@dataclass
class Phone:
    address: str
    user_agent: str
    scenario: str  # phone_rings.xml / phone_refuses.xml
    web: list[str] = field(default_factory=list)  # fake_phone_web.py arguments after --bind/--port/--log
    web_port: int = 80
    tcp: bool = False
    tls_sip: bool = False
    https: list[str] | None = None  # fake_phone_web.py arguments for a TLS server on 443
    telnet: bool = False

    @property
    def log(self) -> str:
        return f"web-{self.address}.jsonl"


class PhoneLab:
    def __init__(self, workdir: Path, phones: list[Phone]) -> None:
        pid = os.getpid()
        self.prober, self.phones_ns = f"pwaP{pid}", f"pwaF{pid}"
        self.workdir = workdir
        self.phones = phones
        self.processes: list[subprocess.Popen[bytes]] = []
        self.control_port = 9000 + pid % 500

    def _ip(self, *args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)

    def start(self) -> None:
        pid = os.getpid()
        self._ip("netns", "add", self.prober)
        self._ip("netns", "add", self.phones_ns)
        self._ip("link", "add", f"pwa{pid}p", "type", "veth", "peer", "name", f"pwa{pid}f")
        self._ip("link", "set", f"pwa{pid}p", "netns", self.prober)
        self._ip("link", "set", f"pwa{pid}f", "netns", self.phones_ns)
        for ns, dev, address in (
            (self.prober, f"pwa{pid}p", "203.0.113.1/24"),
            (self.phones_ns, f"pwa{pid}f", "203.0.113.2/24"),
        ):
            self._ip("-n", ns, "link", "set", "lo", "up")
            self._ip("-n", ns, "addr", "add", address, "dev", dev)
            self._ip("-n", ns, "link", "set", dev, "up")
        self._ip("-n", self.prober, "route", "add", "198.51.100.0/24", "via", "203.0.113.2")
        for phone in self.phones:
            self._ip("-n", self.phones_ns, "addr", "add", f"{phone.address}/32", "dev", f"pwa{pid}f")
        self._certificate()
        for phone in self.phones:
            self._start_phone(phone)
        self._wait_ready()

    def _certificate(self) -> None:
        make_certificate(self.workdir, "snom D785", days=30)

    def _spawn(self, *argv: str) -> None:
        log = open(self.workdir / f"proc-{len(self.processes)}.log", "wb")  # noqa: SIM115 - closed with the process
        self.processes.append(
            subprocess.Popen(
                ["ip", "netns", "exec", self.phones_ns, *argv],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        )

    def _sipp(self, phone: Phone, transport: str) -> None:
        self.control_port += 1
        self._spawn(
            "sipp",
            "-sf",
            str(TOOLS / phone.scenario),
            "-i",
            phone.address,
            "-p",
            "5060",
            "-t",
            transport,
            "-key",
            "ua",
            phone.user_agent,
            "-cp",
            str(self.control_port),
            "-nostdin",
            "-m",
            "1000",
            "-trace_err",
            "-error_file",
            str(self.workdir / f"sipp-{phone.address}-{transport}.err"),
        )

    def _start_phone(self, phone: Phone) -> None:
        self._sipp(phone, "u1")
        if phone.tcp or phone.tls_sip:
            self._sipp(phone, "t1")
        if phone.tls_sip:
            self._spawn(
                "socat",
                f"OPENSSL-LISTEN:5061,bind={phone.address},reuseaddr,fork,verify=0,"
                f"cert={self.workdir / 'cert.pem'},key={self.workdir / 'key.pem'}",
                f"TCP:{phone.address}:5060",
            )
        web = [
            sys.executable,
            str(TOOLS / "fake_phone_web.py"),
            "--bind",
            phone.address,
            "--log",
            str(self.workdir / phone.log),
        ]
        if phone.web:
            self._spawn(*web, "--port", str(phone.web_port), *phone.web)
        if phone.https is not None:
            self._spawn(
                *web,
                "--port",
                "443",
                "--tls",
                str(self.workdir / "cert.pem"),
                str(self.workdir / "key.pem"),
                *phone.https,
            )
        if phone.telnet:
            self._spawn("socat", f"TCP-LISTEN:23,bind={phone.address},reuseaddr,fork", "OPEN:/dev/null")

    def _wait_ready(self) -> None:
        wanted = set()
        for phone in self.phones:
            wanted.add(("udp", f"{phone.address}:5060"))
            if phone.web:
                wanted.add(("tcp", f"{phone.address}:{phone.web_port}"))
            if phone.tls_sip:
                wanted.add(("tcp", f"{phone.address}:5061"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            out = subprocess.run(
                ["ip", "netns", "exec", self.phones_ns, "ss", "-Htuln"],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout
            listening = {
                (line.split()[0], line.split()[4]) for line in out.splitlines() if len(line.split()) > 4
            }
            if wanted <= listening:
                return
            time.sleep(0.1)
        logs = {p.name: p.read_text(errors="replace")[-500:] for p in self.workdir.glob("proc-*.log")}
        pytest.fail(f"emulated phones did not start: missing {sorted(wanted - listening)}; logs: {logs}")

    def probe(self, *args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
        """`phonewarden audit probe ARGS` run inside the prober namespace, as an operator would."""
        return self.phonewarden("audit", "probe", *args, data_dir=data_dir)

    def phonewarden(self, *args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
        """`phonewarden ARGS` inside the prober namespace, with its data and database in `data_dir`."""
        env = {
            **os.environ,
            "PHONEWARDEN_DATA_DIR": str(data_dir),
            "PHONEWARDEN_DATABASE_URL": f"sqlite:///{data_dir}/pw.db",
        }
        return subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.prober,
                sys.executable,
                "-m",
                "phonewarden",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=data_dir,
        )

    def attempts(self, address: str) -> list[str]:
        path = self.workdir / f"web-{address}.jsonl"
        return path.read_text().splitlines() if path.exists() else []

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        for ns in (self.prober, self.phones_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
