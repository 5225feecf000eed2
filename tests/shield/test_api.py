from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from phonewarden.console.app import create_app
from phonewarden.settings import load_settings
from phonewarden.shield import api
from phonewarden.shield.bans import BanStore
from phonewarden.store.engine import make_engine
from phonewarden.store.migrate import upgrade


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
