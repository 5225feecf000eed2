"""Console pages with a large findings table: p50/p95 per page against the same data read by plain sqlite3.

    python bench/console_pages.py [--findings 1000000] [--requests 200]

Builds bench/out/console-<N>.db (SQLite, migrated, N findings over 30 days, 2,000 bans), starts
`phonewarden serve` on a free loopback port, and times each page through HTTP with an API token
(sequential, one client). The peer is Python's sqlite3 running the page's own SQL on the same file,
so the ratio is the console's whole cost (HTTP, auth, ORM, template) over the bare query. `wrk`, when
installed, adds a 5 s load run on the findings page. Bar (issue 8): p95 < 200 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.conftest.free_port

from tests.conftest import free_port, free_udp_and_tcp_port  # noqa: E402

GUARDS = ["shield", "fraud", "privacy", "audit", "provisioning"]
SEVERITIES = ["info", "low", "medium", "high", "critical"]


def build(path: Path, findings: int) -> None:
    from phonewarden.store.migrate import upgrade

    upgrade(f"sqlite:///{path}")
    rng, now = random.Random(1), datetime.now(UTC).replace(tzinfo=None)
    connection = sqlite3.connect(path)
    batch = []
    for index in range(findings):
        when = now - timedelta(seconds=rng.random() * 30 * 86400)
        batch.append((when.isoformat(" "), rng.choice(GUARDS), "scan", f"198.51.100.{index % 250}",
                      rng.choice(SEVERITIES), "bench finding", "{}", now.isoformat(" ")))  # fmt: skip
        if len(batch) == 50_000:
            connection.executemany(
                "INSERT INTO findings (time, guard, kind, subject, severity, reason, evidence, created_at)"
                " VALUES (?,?,?,?,?,?,?,?)", batch)  # fmt: skip
            batch.clear()
    if batch:
        connection.executemany(
            "INSERT INTO findings (time, guard, kind, subject, severity, reason, evidence, created_at)"
            " VALUES (?,?,?,?,?,?,?,?)", batch)  # fmt: skip
    bans = [(f"203.0.113.{i % 250}/{i}", '["scanner:sipvicious"]', 1, now.isoformat(" "),
             (now + timedelta(days=1)).isoformat(" ")) for i in range(2000)]  # fmt: skip
    connection.executemany(
        "INSERT INTO shield_bans (address, reasons, offences, banned_at, expires_at) VALUES (?,?,?,?,?)", bans
    )
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


def api_token(path: Path, data_dir: Path) -> str:
    from phonewarden.console.accounts import Accounts
    from phonewarden.console.audit_log import Actor
    from phonewarden.console.models import ConsoleUser
    from phonewarden.console.policy import ConsolePolicy, Role
    from phonewarden.console.secretbox import SecretBox
    from phonewarden.console.sessions import TokenStore
    from phonewarden.store.engine import make_engine, session_factory

    engine = make_engine(f"sqlite:///{path}")
    Accounts(engine, SecretBox.in_dir(data_dir), ConsolePolicy()).create(
        "bench", Role.VIEWER, Actor("bench", "-")
    )
    with session_factory(engine).begin() as session:
        user = session.query(ConsoleUser).filter_by(name="bench").one()
        user.must_enrol = False  # a script's token; enrolment is a browser step
        user_id = user.id
    token = TokenStore(engine).create(user_id, "bench", Role.VIEWER)
    engine.dispose()
    return token


def timed(fn: object, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def p(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    out = REPO / "bench" / "out" / f"console-{args.findings}"
    db = out / "phonewarden.db"
    if not db.exists():
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        build(db, args.findings)
        print(f"built {db} with {args.findings:,} findings in {time.perf_counter() - start:.1f} s")
    for stale in out.glob("console.key"):
        stale.unlink()
    connection = sqlite3.connect(db)
    connection.execute("DELETE FROM console_users")
    connection.commit()
    token = api_token(db, out)
    middle = connection.execute(
        "SELECT id FROM findings ORDER BY id LIMIT 1 OFFSET ?", (args.findings // 2,)
    ).fetchone()[0]
    day_ago = (
        (datetime.now(UTC) - timedelta(hours=23)).replace(tzinfo=None, minute=0, second=0).isoformat(" ")
    )
    pages = {
        "/findings": ("SELECT * FROM findings ORDER BY id DESC LIMIT 100", ()),
        f"/findings?before={middle}": (
            "SELECT * FROM findings WHERE id < ? ORDER BY id DESC LIMIT 100",
            (middle,),
        ),
        "/findings?guard=fraud": (
            "SELECT * FROM findings WHERE guard = 'fraud' ORDER BY id DESC LIMIT 100",
            (),
        ),
        "/overview": (
            "SELECT strftime('%Y-%m-%d %H:00', time) h, count(*) FROM findings WHERE guard IN"
            " ('shield','fraud','privacy','audit','provisioning') AND time >= ? GROUP BY h",
            (day_ago,),
        ),
        "/lists/bans": (
            "SELECT * FROM shield_bans WHERE expires_at > ? ORDER BY banned_at DESC LIMIT 500",
            (day_ago,),
        ),
    }
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHONEWARDEN_")}
    env.update(PHONEWARDEN_DATA_DIR=str(out), PHONEWARDEN_HEP__PORT=str(free_udp_and_tcp_port()),
               PHONEWARDEN_LOG_LEVEL="warning")  # fmt: skip
    server = subprocess.Popen([sys.executable, "-m", "phonewarden", "serve", "--port", str(port)], env=env,
                              cwd=out, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        print(f"{'page':32} {'console p50':>12} {'p95':>8} {'sqlite3 p50':>12} {'p95':>8} {'p95 ratio':>10}")
        for path, (sql, params) in pages.items():

            def get(path: str = path) -> None:
                request = urllib.request.Request(base + path, headers=headers)
                with urllib.request.urlopen(request, timeout=10) as response:
                    assert response.status == 200
                    response.read()

            get()  # warm
            ours = timed(get, args.requests)
            peer = timed(
                lambda sql=sql, params=params: connection.execute(sql, params).fetchall(), args.requests
            )
            print(f"{path[:32]:32} {p(ours, 50):10.1f}ms {p(ours, 95):6.1f}ms {p(peer, 50):10.2f}ms "
                  f"{p(peer, 95):6.2f}ms {p(ours, 95) / max(p(peer, 95), 1e-6):9.1f}x")  # fmt: skip
        if shutil.which("wrk"):
            wrk = subprocess.run(
                ["wrk", "-t1", "-c4", "-d5s", "--latency", "-H", f"Authorization: Bearer {token}",
                 f"{base}/findings"],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            lines = [
                line.strip() for line in wrk.stdout.splitlines() if "%" in line or "Requests/sec" in line
            ]
            print("wrk -c4 -d5s /findings: " + " | ".join(lines))
    finally:
        server.terminate()
        server.wait(timeout=10)
        connection.close()
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
