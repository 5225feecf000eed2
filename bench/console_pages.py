"""Every console page at scale: p50/p95 through HTTP against the page's main query in plain sqlite3.

    python bench/console_pages.py [--scale 1.0] [--requests 200] [--only /audit]

Builds bench/out/console-<scale>/phonewarden.db once (SQLite, migrated): 1,000,000 findings over 30 days
spread over the five guards, 50,000 bans, 10,000 audited phones x 19 checks (10 runs), 2,000 privacy
devices with 50 destinations each, 2,000 provisioned phones with 200,000 fetch decisions, 5,000 fraud
accounts with a week of hourly usage, restrictions and their audit rows (`--scale` multiplies them all).
Then starts `phonewarden serve` on a free loopback port and times each page of the nav, each list
behind the overview's tiles, a later page of each paged list and one detail page per guard: 200
sequential requests each, as a viewer (an API token of a viewer account). The peer is Python's sqlite3
running the page's main query on the same file, so the ratio is the console's whole cost (HTTP, auth,
ORM, the guard's code, the template) over the bare query. Bar (issue 8): p95 < 200 ms on every page.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.conftest.free_port

from tests.conftest import free_port, free_udp_and_tcp_port  # noqa: E402

SEVERITIES = ["info", "low", "medium", "high", "critical"]
COUNTRIES = ["DE", "FR", "NL", "US", "CN", "IE", "SE", "GB"]
CHECKS = [f"check_{i:02}" for i in range(19)]  # the audit's rules per phone
BATCH = 20_000


def scaled(base: int, scale: float) -> int:
    return max(1, int(base * scale))


def sizes(scale: float) -> dict[str, int]:
    return {
        "findings": scaled(1_000_000, scale),
        "bans": scaled(50_000, scale),
        "audit_devices": scaled(10_000, scale),
        "privacy_devices": scaled(2_000, scale),
        "prov_devices": scaled(2_000, scale),
        "prov_events": scaled(200_000, scale),
        "fraud_accounts": scaled(5_000, scale),
    }


def subject(guard: str, index: int) -> str:
    """Realistic subjects per guard, so that per-subject pages find their rows."""
    return {
        "shield": f"203.0.113.{index % 250}" if index % 3 else f"198.51.100.{index % 250}",
        "fraud": f"acct-{index % 5000:05}",
        "privacy": f"phone-{index % 2000:04}",
        "audit": f"10.0.{index % 40}.{index % 250}",
        "provisioning": f"0004f2{index % 2000:06x}",
    }[guard]


def build_findings(connection: sqlite3.Connection, count: int, now: datetime) -> None:
    rng = random.Random(1)
    guards = ["shield"] * 6 + ["fraud"] * 2 + ["privacy", "audit", "provisioning"]
    kinds = {
        "shield": ["scan", "brute_force", "enumeration", "flood"],
        "fraud": ["toll_fraud", "high_cost"],
        "privacy": ["identifier_leak"],
        "audit": ["weak_config"],
        "provisioning": ["denied_fetch"],
    }
    sql = (
        "INSERT INTO findings (time, guard, kind, subject, severity, reason, evidence, created_at)"
        " VALUES (?,?,?,?,?,?,?,?)"
    )
    batch: list[tuple[Any, ...]] = []
    for index in range(count):
        # Ids grow with time, as a running console stores them, with some jitter (late records).
        when = now - timedelta(seconds=(count - index) * 30 * 86400 / count + rng.random() * 600)
        guard = rng.choice(guards)
        evidence = (
            json.dumps({"samples": [f"INVITE sip:{index}@example.invalid"]}) if guard == "shield" else "{}"
        )
        batch.append(
            (
                when.isoformat(" "),
                guard,
                rng.choice(kinds[guard]),
                subject(guard, rng.randrange(10**6)),
                rng.choice(SEVERITIES),
                "bench finding",
                evidence,
                now.isoformat(" "),
            )
        )
        if len(batch) == 50_000:
            connection.executemany(sql, batch)
            batch.clear()
    connection.executemany(sql, batch)
    connection.commit()


def chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def build_guards(url: str, n: dict[str, int], now: datetime) -> None:
    """The guards' tables through SQLAlchemy Core: the models' own types and defaults, bulk speed."""
    from sqlalchemy import insert

    from phonewarden.audit.models import AuditCheck, AuditRun
    from phonewarden.fraud.models import FraudAudit, FraudRestriction, FraudUsage
    from phonewarden.privacy.models import (
        PrivacyDestination,
        PrivacyDevice,
        PrivacyLeak,
        PrivacyRun,
        PrivacyVerdict,
    )
    from phonewarden.provisioning.models import ProvDevice, ProvEvent, ProvSite
    from phonewarden.shield.models import ShieldBan
    from phonewarden.store.engine import make_engine

    rng = random.Random(2)
    engine = make_engine(url)

    def put(model: Any, rows: Iterator[dict[str, Any]]) -> None:
        with engine.begin() as connection:
            for batch in chunks(rows):
                connection.execute(insert(model), batch)

    put(
        ShieldBan,
        (
            {
                # The sources the findings name, then IPv6 sources (a ban key is their /64).
                "address": subject("shield", i) if i < 250 else f"2001:db8:{i >> 16:x}:{i & 0xFFFF:x}::/64",
                "reasons": ["scanner:sipvicious", "brute_force"],
                "offences": 1 + i % 4,
                "banned_at": now - timedelta(seconds=i * 5),
                "expires_at": now + timedelta(hours=1 + i % 48),
                "dry_run": i % 50 == 0,
            }
            for i in range(n["bans"])
        ),
    )

    devices = n["audit_devices"]
    runs = max(1, devices // 1000)
    put(
        AuditRun,
        (
            {
                "id": r + 1,
                "kind": "config",
                "site": f"site-{r % 4}",
                "targets": devices // runs,
                "failed": 0,
                "errors": [],
                "started_at": now - timedelta(days=runs - r),
            }
            for r in range(runs)
        ),
    )
    put(
        AuditCheck,
        (
            {
                "run_id": d % runs + 1,
                "time": now - timedelta(days=runs - d % runs),
                "target": subject("audit", d) + f"-{d}",
                "vendor": ["yealink", "snom", "polycom"][d % 3],
                "model": "T54W",
                "firmware": "96.86.0.100",
                "check": check,
                "status": "fail" if rng.random() < 0.15 else "pass",
                "severity": ["critical", "high", "medium", "low"][c % 4],
                "detail": "bench detail",
                "remediation": "bench fix",
                "evidence": {},
            }
            for d in range(devices)
            for c, check in enumerate(CHECKS)
        ),
    )

    names = [f"phone-{i:04}" for i in range(n["privacy_devices"])]
    put(
        PrivacyDevice,
        (
            {"name": name, "kind": "desk phone", "ips": [f"192.0.2.{i % 250}"], "identifiers": {}}
            for i, name in enumerate(names)
        ),
    )
    put(
        PrivacyRun,
        iter(
            [
                {
                    "id": 1,
                    "source": "bench.pcapng",
                    "frames": 10**6,
                    "policies": ["eu"],
                    "summary": {},
                    "last_seen": now,
                }
            ]
        ),
    )

    def destination(name: str, k: int) -> dict[str, Any]:
        country = COUNTRIES[(k + len(name)) % len(COUNTRIES)]
        record = {
            "type": "destination",
            "device": name,
            "address": f"203.0.113.{k}",
            "port": 443,
            "transport": "tcp",
            "protocol": "tls",
            "host": f"h{k}.example.com",
            "scope": "public",
            "country": country,
            "first_seen": now.isoformat(),
            "last_seen": (now - timedelta(minutes=k)).isoformat(),
            "bytes_out": 1000 * k,
            "bytes_in": 500 * k,
        }
        return {
            "run_id": 1,
            "device": name,
            "address": record["address"],
            "port": 443,
            "transport": "tcp",
            "host": record["host"],
            "country": country,
            "first_seen": now,
            "record": record,
        }

    put(PrivacyDestination, (destination(name, k) for name in names for k in range(50)))
    put(
        PrivacyLeak,
        (
            {
                "run_id": 1,
                "time": now,
                "device": name,
                "identifier": "mac",
                "encoding": "plain",
                "confidence": "high",
                "address": "203.0.113.1",
                "country": "US",
                "evidence": "mac=00…ff",
                "record": {
                    "type": "leak",
                    "device": name,
                    "confidence": "high",
                    "identifier": "mac",
                    "encoding": "plain",
                    "address": "203.0.113.1",
                    "port": 443,
                    "protocol": "http",
                    "host": "h1.example.com",
                    "country": "US",
                    "time": now.isoformat(),
                    "count": 1,
                    "evidence": "mac=00…ff",
                },
            }
            for name in names[::5]
        ),
    )
    put(
        PrivacyVerdict,
        (
            {
                "run_id": 1,
                "time": now,
                "device": name,
                "policy": "eu",
                "status": "violation" if i % 10 == 0 else "ok",
                "record": {
                    "type": "verdict",
                    "device": name,
                    "policy": "eu",
                    "reasons": [],
                    "status": "violation" if i % 10 == 0 else "ok",
                    "flows": [],
                },
            }
            for i, name in enumerate(names)
        ),
    )

    put(
        ProvSite,
        iter(
            [
                {
                    "id": 1,
                    "name": "hq",
                    "networks": ["192.0.2.0/24"],
                    "window_hours": 24.0,
                    "max_fetches": 3,
                    "require_user_agent": True,
                    "require_client_cert": True,
                    "require_digest": True,
                    "require_consent": False,
                }
            ]
        ),
    )
    macs = [subject("provisioning", i) for i in range(n["prov_devices"])]
    put(
        ProvDevice,
        (
            {
                "mac": mac,
                "vendor": "yealink",
                "model": "T54W",
                "site_id": 1,
                "state": "active",
                "fetches": 1,
                "admin_password": "x",
                "user_password": "x",
                "digest_password": "x",
                "lock_pin": "x",
            }
            for mac in macs
        ),
    )
    events = n["prov_events"]
    put(
        ProvEvent,
        (
            {
                "time": now - timedelta(seconds=(events - e) * 10),
                "action": "fetch" if e % 4 else "deny",
                "mac": macs[e % len(macs)],
                "source": f"192.0.2.{e % 250}",
                "reason": "served" if e % 4 else "no_cert",
                "detail": {},
            }
            for e in range(events)
        ),
    )

    accounts = [subject("fraud", i) for i in range(n["fraud_accounts"])]
    hour = now.replace(minute=0, second=0, microsecond=0)
    put(
        FraudUsage,
        (
            {
                "account": account,
                "hour": hour - timedelta(hours=h),
                "calls": 3,
                "cost": 0.4 + i % 7,
                "minutes": 12.0,
                "last_call": hour - timedelta(hours=h) + timedelta(minutes=50),
            }
            for i, account in enumerate(accounts)
            for h in range(0, 7 * 24, 4)
        ),
    )
    put(
        FraudRestriction,
        (
            {
                "account": account,
                "destination": "",
                "level": 1 + i % 3,
                "time": now - timedelta(hours=i % 200),
                "until": now + timedelta(hours=1 - i % 3),
                "reason": "bench",
                "actor": "fraud",
                "lifted_at": now if i % 4 == 0 else None,
                "lifted_by": "bench" if i % 4 == 0 else None,
            }
            for i, account in enumerate(accounts)
        ),
    )
    put(
        FraudAudit,
        (
            {
                "time": now - timedelta(minutes=i),
                "action": ["restrict", "lift", "expire"][i % 3],
                "account": accounts[i % len(accounts)],
                "level": 1,
                "actor": "fraud",
                "reason": "bench",
                "until": now,
            }
            for i in range(50_000)
        ),
    )
    engine.dispose()


def build(path: Path, scale: float) -> None:
    from phonewarden.store.migrate import upgrade

    url = f"sqlite:///{path}"
    upgrade(url)
    now = datetime.now(UTC).replace(microsecond=0)
    n = sizes(scale)
    connection = sqlite3.connect(path)
    build_findings(connection, n["findings"], now.replace(tzinfo=None))
    build_guards(url, n, now)
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


def nav() -> list[str]:
    """The pages of the console's nav bar, as `phonewarden serve` builds it."""
    from phonewarden.console.shell import NAV
    from phonewarden.guards import GUARDS, import_guard_module

    paths = [path for _, path in NAV]
    for guard in GUARDS:
        module = import_guard_module(guard, "pages")
        if module is not None:
            paths += [path for _, path in getattr(module, "NAV", [])]
    return paths


def timed(fn: Callable[[], object], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def p(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100)[q - 1]


def picks(connection: sqlite3.Connection) -> dict[str, str]:
    """One stored thing per guard for its detail page: a phone, a device, an account, a MAC."""

    def one(sql: str) -> str:
        return str(connection.execute(sql).fetchone()[0])

    return {
        "target": one("SELECT target FROM audit_checks WHERE id = (SELECT max(id) / 2 FROM audit_checks)"),
        "device": one("SELECT device FROM privacy_verdicts WHERE status = 'violation' LIMIT 1"),
        "account": one("SELECT account FROM fraud_usage WHERE id = (SELECT max(id) / 2 FROM fraud_usage)"),
        "mac": one("SELECT mac FROM prov_events WHERE id = (SELECT max(id) / 2 FROM prov_events)"),
    }


def peer_queries(now: datetime, pick: dict[str, str]) -> dict[str, tuple[str, tuple[Any, ...]]]:
    """Each page's main query as plain SQL (the same data the page reads), keyed by path prefix."""
    iso = now.replace(tzinfo=None).isoformat(" ")
    day_ago = (now - timedelta(hours=23)).replace(tzinfo=None, minute=0, second=0).isoformat(" ")
    latest_checks = (
        "SELECT c.* FROM audit_checks c"
        " JOIN (SELECT target, max(run_id) r FROM audit_checks GROUP BY target) l"
        " ON c.target = l.target AND c.run_id = l.r"
    )
    return {
        "/overview": (
            "SELECT strftime('%Y-%m-%d %H:00', time) h, count(*) FROM findings WHERE guard IN"
            " ('shield','fraud','privacy','audit','provisioning') AND time >= ? GROUP BY h",
            (day_ago,),
        ),
        "/findings?": (
            "SELECT * FROM findings WHERE severity = 'high' AND id < ? ORDER BY id DESC LIMIT 100",
            (10**9,),
        ),
        "/findings": ("SELECT * FROM findings ORDER BY id DESC LIMIT 100", ()),
        "/locations": ("SELECT * FROM console_locations", ()),
        "/alerts/outbox": ("SELECT 1", ()),
        "/lists/bans": (
            "SELECT * FROM shield_bans WHERE expires_at > ? AND dry_run = 0"
            " ORDER BY banned_at DESC, id DESC LIMIT 101",
            (iso,),
        ),
        "/lists/fraud": (
            "SELECT * FROM findings WHERE guard = 'fraud' AND severity IN ('high','critical')"
            " AND time >= ? ORDER BY time DESC LIMIT 500",
            (day_ago,),
        ),
        "/lists/audit": (
            f"SELECT * FROM ({latest_checks}) WHERE status = 'fail' ORDER BY target, \"check\", id LIMIT 101",
            (),
        ),
        "/lists/privacy": (
            "SELECT * FROM privacy_verdicts WHERE status = 'violation' ORDER BY time DESC LIMIT 101",
            (),
        ),
        "/shield/bans": ("SELECT * FROM shield_bans WHERE expires_at > ? ORDER BY expires_at DESC", (iso,)),
        "/shield/activity": (
            "SELECT subject, count(*) c, max(time) FROM findings WHERE guard = 'shield'"
            " AND time >= ? GROUP BY subject ORDER BY c DESC LIMIT 20",
            (day_ago,),
        ),
        "/fraud/accounts/": ("SELECT * FROM fraud_usage WHERE account = ? ORDER BY hour", (pick["account"],)),
        "/fraud/accounts": (
            "SELECT account, sum(calls), sum(cost) FROM fraud_usage WHERE hour >= ? GROUP BY account",
            ((now - timedelta(days=7)).replace(tzinfo=None).isoformat(" "),),
        ),
        "/fraud/restrictions": (
            "SELECT * FROM fraud_restrictions WHERE lifted_at IS NULL AND until > ?",
            (iso,),
        ),
        "/fraud/alerts": ("SELECT * FROM findings WHERE guard = 'fraud' ORDER BY time DESC LIMIT 100", ()),
        "/privacy/devices/": ("SELECT record FROM privacy_destinations WHERE device = ?", (pick["device"],)),
        "/privacy/devices": ("SELECT device, max(run_id) FROM privacy_destinations GROUP BY device", ()),
        "/privacy/inventory": ("SELECT * FROM privacy_devices", ()),
        "/audit/fleet": (latest_checks, ()),
        "/audit/devices/": ("SELECT * FROM audit_checks WHERE target = ?", (pick["target"],)),
        "/provisioning/phones": (
            "SELECT * FROM prov_devices d JOIN prov_sites s ON s.id = d.site_id"
            " ORDER BY s.name, d.mac LIMIT 2000",
            (),
        ),
        "/provisioning/fetches": (
            "SELECT * FROM prov_events WHERE action IN ('fetch','deny','ban','enumeration')"
            " AND id < ? ORDER BY id DESC LIMIT 100",
            (10**9,),
        ),
    }


def peer_for(path: str, queries: dict[str, tuple[str, tuple[Any, ...]]]) -> tuple[str, tuple[Any, ...]]:
    """The query of the longest matching path prefix."""
    return max(((k, v) for k, v in queries.items() if path.startswith(k)), key=lambda kv: len(kv[0]))[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every table's size")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--only", default="", help="time only the pages whose path starts so (comma-separated)"
    )
    args = parser.parse_args()
    out = REPO / "bench" / "out" / f"console-{args.scale:g}"
    db = out / "phonewarden.db"
    if not db.exists():
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        build(db, args.scale)
        print(f"built {db} ({sizes(args.scale)}) in {time.perf_counter() - start:.0f} s")
    else:
        from phonewarden.store.migrate import upgrade

        upgrade(f"sqlite:///{db}")  # a database built before a new migration gets its indexes
        with sqlite3.connect(db) as fresh:
            fresh.execute("ANALYZE")  # as after the build: the planner knows the new indexes
    for stale in out.glob("console.key"):
        stale.unlink()
    connection = sqlite3.connect(db)
    connection.execute("DELETE FROM console_users")
    connection.commit()
    token = api_token(db, out)
    now = datetime.now(UTC)
    pick = picks(connection)
    queries = peer_queries(now, pick)
    pages = nav() + [f"/lists/{key}" for key in ("bans", "fraud", "audit", "privacy")]
    middle = connection.execute("SELECT max(id) / 2 FROM findings").fetchone()[0]
    pages += [
        f"/findings?before={middle}",
        "/findings?severity=high&since=" + now.strftime("%Y-%m-%dT00:00"),
        "/findings?subject=198.51.100.7",
        "/findings?guard=privacy&severity=critical",
    ]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHONEWARDEN_")}
    env.update(
        PHONEWARDEN_DATA_DIR=str(out),
        PHONEWARDEN_HEP__PORT=str(free_udp_and_tcp_port()),
        PHONEWARDEN_LOG_LEVEL="warning",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "phonewarden", "serve", "--port", str(port)],
        env=env,
        cwd=out,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}

    def fetch(path: str) -> str:
        request = urllib.request.Request(base + path, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200, path
            return str(response.read().decode())

    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        # A later page of each paged list (from its own next link) and one detail page per guard.
        for listed in ("/lists/bans", "/lists/audit", "/lists/privacy", "/provisioning/fetches"):
            found = re.search(r'id="next" href="([^"]+)"', fetch(listed))
            if found:
                pages.append(found.group(1).replace("&amp;", "&"))
        pages += [
            "/audit/devices/" + urllib.parse.quote(pick["target"], safe=""),
            "/privacy/devices/" + urllib.parse.quote(pick["device"]),
            "/fraud/accounts/" + urllib.parse.quote(pick["account"]),
            "/provisioning/fetches?mac=" + pick["mac"],
        ]
        pages = [page for page in pages if page.startswith(tuple(args.only.split(",")))]
        print(
            f"{'page':44} {'console p50':>11} {'p95':>8} {'sqlite3 p50':>11} {'p95':>8} {'ratio':>7} {'n':>4}"
        )
        over = []
        for path in pages:
            warm = timed(lambda: fetch(path), 1)[0]  # noqa: B023 (called at once)
            # A page slower than a second gets a tenth of the requests: its verdict is clear sooner.
            n = args.requests if warm < 1000 else max(10, args.requests // 10)
            ours = timed(lambda: fetch(path), n)  # noqa: B023
            sql, params = peer_for(path, queries)
            peer = timed(lambda: connection.execute(sql, params).fetchall(), n)  # noqa: B023
            if p(ours, 95) >= 200:
                over.append(path)
            print(
                f"{path[:44]:44} {p(ours, 50):9.1f}ms {p(ours, 95):6.1f}ms {p(peer, 50):9.2f}ms "
                f"{p(peer, 95):6.2f}ms {p(ours, 95) / max(p(peer, 95), 1e-3):6.1f}x {n:4}"
            )
        print("p95 < 200 ms: " + ("met on every page" if not over else "NOT met on " + ", ".join(over)))
    finally:
        server.terminate()
        server.wait(timeout=10)
        connection.close()
    load1, load5, _ = os.getloadavg()
    print(f"load average {load1:.1f} (5 min {load5:.1f}), {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
