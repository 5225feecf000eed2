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
