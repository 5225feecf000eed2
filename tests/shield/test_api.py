from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from phonewarden.console.app import create_app
from phonewarden.console.policy import Role
from phonewarden.settings import load_settings
from phonewarden.shield import api, live
from phonewarden.shield.bans import BanStore
from phonewarden.shield.enforce import DryRunEnforcer
from phonewarden.store.engine import make_engine
from phonewarden.store.migrate import upgrade
from tests.console.api_tokens import bearer


@pytest.fixture
def client(clean_env: Path) -> Iterator[tuple[TestClient, BanStore]]:
    api.ban_store.cache_clear()
    settings = load_settings()
    upgrade(settings.database_url)
    store = BanStore(make_engine(settings.database_url))
    with TestClient(create_app(settings, start_hep=False)) as test_client:
        yield test_client, store
    api.ban_store.cache_clear()


def test_ban_list_and_feeds_through_the_console(client: tuple[TestClient, BanStore]) -> None:
    http, store = client
    assert http.get("/api/v1/shield/feed.txt").text == ""
    assert http.get("/api/v1/shield/feed.json").json() == {"ipaddress": [], "ID": "none"}
    store.save_ban("203.0.113.66", 600, ["brute-force: 5 failed authentications"], 1)
    store.save_ban("2001:db8:1:2::/64", 3600, ["flood"], 2)
    bans = http.get("/api/v1/shield/bans").json()
    assert bans["count"] == 2
    by_address = {ban["address"]: ban for ban in bans["bans"]}
    assert by_address["203.0.113.66"]["reasons"] == ["brute-force: 5 failed authentications"]
    assert 0 < by_address["203.0.113.66"]["seconds_left"] <= 600
    text = http.get("/api/v1/shield/feed.txt")
    assert text.headers["content-type"].startswith("text/plain")
    assert sorted(text.text.splitlines()) == ["2001:db8:1:2::/64", "203.0.113.66"]
    feed = http.get("/api/v1/shield/feed.json").json()
    assert sorted(feed["ipaddress"]) == ["2001:db8:1:2::/64", "203.0.113.66"] and feed["ID"].endswith("Z")


def test_feed_before_migration_is_503_with_the_remedy(clean_env: Path) -> None:
    api.ban_store.cache_clear()
    with TestClient(create_app(load_settings(), start_hep=False)) as http:
        response = http.get("/api/v1/shield/feed.txt")
    api.ban_store.cache_clear()
    assert response.status_code == 503 and "phonewarden db upgrade" in response.json()["detail"]


def test_serve_with_config_serves_the_bans_of_that_config(clean_env: Path) -> None:
    """`phonewarden --config X serve` must read X's database, not the one of the environment's defaults."""
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.conftest import free_port

    port = free_port()
    config = clean_env / "elsewhere.toml"
    config.write_text(
        f'data_dir = "{clean_env / "elsewhere"}"\nlog_level = "warning"\n'
        f'[console]\nhost = "127.0.0.1"\nport = {port}\n[hep]\nenabled = false\n'
    )
    binary = str(Path(sys.executable).parent / "phonewarden")
    subprocess.run([binary, "--config", str(config), "db", "upgrade"], check=True, capture_output=True)
    settings = load_settings(config)
    BanStore(make_engine(settings.database_url)).save_ban("203.0.113.77", 600, ["scanner: test"], 1)
    assert settings.database_url != load_settings().database_url  # the default would be another database
    server = subprocess.Popen([binary, "--config", str(config), "serve"], stderr=subprocess.PIPE)
    try:
        deadline, body = time.monotonic() + 30, None
        while body is None and time.monotonic() < deadline:
            assert server.poll() is None, f"serve exited: {server.stderr.read() if server.stderr else ''!r}"
            try:
                url = f"http://127.0.0.1:{port}/api/v1/shield/feed.txt"
                body = urllib.request.urlopen(url, timeout=3).read().decode()
            except OSError:
                time.sleep(0.2)
        assert body == "203.0.113.77\n"
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_operator_bans_and_unbans_through_the_api(client: tuple[TestClient, BanStore]) -> None:
    http, store = client
    ctx = http.app.state.console  # type: ignore[attr-defined]
    olga, vera = bearer(ctx, "olga", Role.OPERATOR), bearer(ctx, "vera", Role.VIEWER)
    body = {"address": "203.0.113.0/24", "minutes": 30, "reason": "SIPVicious sweep"}
    assert http.post("/api/v1/shield/bans", json=body, headers=vera).status_code == 403
    made = http.post("/api/v1/shield/bans", json=body, headers=olga)
    assert made.status_code == 201, made.text
    assert made.json()["reasons"] == ["manual by olga: SIPVicious sweep"]
    assert 1790 < made.json()["seconds_left"] <= 1800
    assert [row.address for row in store.active_bans()] == ["203.0.113.0/24"]
    assert http.get("/api/v1/shield/feed.txt", headers=vera).text == "203.0.113.0/24\n"
    # The IPv6 key is a /64: the path carries its slash.
    v6 = http.post("/api/v1/shield/bans", json={"address": "2001:db8:5::/64", "minutes": 1}, headers=olga)
    assert v6.status_code == 201, v6.text
    assert http.delete("/api/v1/shield/bans/2001:db8:5::/64", headers=olga).status_code == 204
    assert http.delete("/api/v1/shield/bans/2001:db8:5::/64", headers=olga).status_code == 404
    assert [row.address for row in store.active_bans()] == ["203.0.113.0/24"]


def test_bad_or_protected_bans_are_refused(client: tuple[TestClient, BanStore]) -> None:
    http, store = client
    olga = bearer(http.app.state.console, "olga", Role.OPERATOR)  # type: ignore[attr-defined]
    store.allow("198.51.100.0/24", "the office")
    protected = http.post("/api/v1/shield/bans", json={"address": "198.51.100.7", "minutes": 5}, headers=olga)
    assert protected.status_code == 409 and "198.51.100.0/24" in protected.json()["detail"]
    bad = http.post("/api/v1/shield/bans", json={"address": "203.0.113.300", "minutes": 5}, headers=olga)
    assert bad.status_code == 422 and "'203.0.113.300'" in bad.json()["detail"]
    wide = http.post("/api/v1/shield/bans", json={"address": "0.0.0.0/0", "minutes": 5}, headers=olga)
    assert wide.status_code == 422 and "too wide" in wide.json()["detail"]
    forever = http.post(
        "/api/v1/shield/bans", json={"address": "203.0.113.9", "minutes": 10**9}, headers=olga
    )
    assert forever.status_code == 422
    assert http.delete("/api/v1/shield/bans/not-an-address", headers=olga).status_code == 422
    assert store.active_bans() == []


def test_ban_list_pages_and_filters_by_network(client: tuple[TestClient, BanStore]) -> None:
    http, store = client
    for host in range(1, 8):
        store.save_ban(f"203.0.113.{host}", 600 + host, ["flood"], 1)
    store.save_ban("2001:db8:1:2::/64", 3600, ["scanner"], 1)
    seen, url = [], "/api/v1/shield/bans?limit=3"
    while url:
        page = http.get(url)
        assert page.status_code == 200 and page.json()["count"] == 8
        seen += [ban["address"] for ban in page.json()["bans"]]
        url = page.links.get("next", {}).get("url", "")
    # The longest-lasting first, each once.
    assert seen == ["2001:db8:1:2::/64"] + [f"203.0.113.{host}" for host in range(7, 0, -1)]
    inside = http.get("/api/v1/shield/bans", params={"network": "203.0.113.4/31"}).json()
    assert [ban["address"] for ban in inside["bans"]] == ["203.0.113.5", "203.0.113.4"]
    one = http.get("/api/v1/shield/bans", params={"network": "2001:db8:1:2::99"}).json()
    assert one["count"] == 1 and one["bans"][0]["address"] == "2001:db8:1:2::/64"
    bad = http.get("/api/v1/shield/bans", params={"network": "203.0.113"})
    assert bad.status_code == 422 and "network" in bad.json()["detail"]


def test_api_bans_reach_the_running_shields_enforcers(clean_env: Path) -> None:
    (clean_env / "phonewarden.toml").write_text('[shield]\nenforcers = ["dry-run"]\n')
    settings = load_settings()
    upgrade(settings.database_url)
    api.ban_store.cache_clear()
    with TestClient(create_app(settings, start_hep=False)) as http:
        ctx = http.app.state.console  # type: ignore[attr-defined]
        [shield] = [running for running in live._RUNNING if running.engine is ctx.engine]
        olga = bearer(ctx, "olga", Role.OPERATOR)
        body = {"address": "203.0.113.50", "minutes": 10, "reason": "by hand"}
        assert http.post("/api/v1/shield/bans", json=body, headers=olga).status_code == 201
        assert http.delete("/api/v1/shield/bans/203.0.113.50", headers=olga).status_code == 204
    api.ban_store.cache_clear()
    # Leaving the client stopped the shield, whose worker first applied everything queued.
    [enforcer] = shield.service.enforcers
    assert isinstance(enforcer, DryRunEnforcer)
    assert [(a.action, a.address) for a in enforcer.actions if a.action in ("ban", "unban")] == [
        ("ban", "203.0.113.50"),
        ("unban", "203.0.113.50"),
    ]
