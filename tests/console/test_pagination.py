"""The API's one paging convention: limit, an opaque keyset cursor, the next page in a Link header."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from phonewarden.console.pagination import PAGED, Paging, decode_cursor, encode_cursor

WORDS = [f"w{n:03d}" for n in range(250)]


def _app(words: list[str]) -> TestClient:
    app = FastAPI()

    @app.get("/words", responses=PAGED)
    def list_words(page: Paging, starts: str = "") -> list[str]:
        return page.of_list([w for w in words if w.startswith(starts)], lambda word: (word,))

    return TestClient(app)


def _walk(http: TestClient, url: str) -> tuple[list[Any], int]:
    seen: list[Any] = []
    pages = 0
    while url:
        response = http.get(url)
        assert response.status_code == 200, response.text
        seen += response.json()
        pages += 1
        url = response.links.get("next", {}).get("url", "")
    return seen, pages


def test_pages_cover_every_item_once_and_the_last_has_no_link() -> None:
    words = list(WORDS)
    http = _app(words)
    first = http.get("/words")
    assert first.json() == WORDS[:100] and 'rel="next"' in first.headers["link"]
    assert first.headers["link"].startswith("</words?limit=100&cursor=")
    assert _walk(http, "/words?limit=100") == (WORDS, 3)
    assert _walk(http, "/words?limit=250")[1] == 1  # exactly one page: no link to an empty one
    assert "link" not in http.get("/words?limit=250").headers


def test_the_link_keeps_the_filters() -> None:
    http = _app(list(WORDS))
    seen, pages = _walk(http, "/words?starts=w1&limit=30")
    assert seen == [w for w in WORDS if w.startswith("w1")] and pages == 4


def test_items_added_meanwhile_do_not_shift_a_page() -> None:
    words = list(WORDS[:10])
    http = _app(words)
    first = http.get("/words?limit=5")
    words.insert(0, "a-new-one")  # sorts before the page already seen
    following = http.get(first.links["next"]["url"]).json()
    assert following == WORDS[5:10]


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ("limit=0", "greater than or equal to 1"),
        ("limit=1001", "less than or equal to 1000"),
        ("cursor=not-base64!", "is not one this API gave out"),
        (f"cursor={encode_cursor((7,))}", "does not belong to this list"),
        ("cursor=" + "A" * 513, "at most 512 characters"),
    ],
)
def test_bad_paging_input_is_a_422_saying_what(query: str, complaint: str) -> None:
    response = _app(list(WORDS)).get(f"/words?{query}")
    assert response.status_code == 422 and complaint in response.text


def test_cursor_round_trip() -> None:
    key = (-1764061200.5, "2001:db8::/64", 42)
    assert decode_cursor(encode_cursor(key)) == key
    assert "=" not in encode_cursor(key)  # safe in a query string as it is


def test_the_openapi_document_names_the_link_header() -> None:
    operation = _app([]).get("/openapi.json").json()["paths"]["/words"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"limit", "cursor", "starts"}
    assert "Link" in operation["responses"]["200"]["headers"]


def test_page_key_checks_each_part_and_names_the_page() -> None:
    from fastapi import HTTPException

    from phonewarden.console.pagination import encode_cursor, page_key

    assert page_key("", "/x", (int, str)) is None
    assert page_key(encode_cursor((3, "a")), "/x", (int, str)) == (3, "a")
    assert page_key(encode_cursor((3, 2.5, "a")), "/x", (int, (int, float), str)) == (3, 2.5, "a")
    for wrong in [(True, "a"), ("3", "a"), (3,), (3, "a", 1)]:  # a bool is no int; length counts
        with pytest.raises(HTTPException) as refused:
            page_key(encode_cursor(wrong), "/x", (int, str))
        assert refused.value.status_code == 422 and "cursor of /x" in str(refused.value.detail)
    with pytest.raises(HTTPException):
        page_key("not-base64-json", "/x", (int, str))
