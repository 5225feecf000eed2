"""One paging convention for every list under /api/v1: `limit` and an opaque `cursor`, next page in `Link`.

A list answers at most `limit` items (1..1000, default 100). When more follow, the response carries
`Link: </api/v1/...?limit=100&cursor=...>; rel="next"` (RFC 8288, a reference relative to the host so it
holds behind a TLS proxy); no such header means this was the last page. The cursor is the sort key of the
page's last item (base64url JSON): keyset pagination, so page 10,000 costs what page 1 does, and items
added meanwhile neither repeat nor shift a page. Bodies keep their shapes: a list stays a JSON list.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Query, Request, Response
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
MAX_CURSOR = 512
T = TypeVar("T")
Key = tuple[Any, ...]

# For a route's `responses=`: the OpenAPI document says where the next page is.
PAGED: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "Link": {
                "description": 'the next page, as `<URL>; rel="next"`; absent on the last page',
                "schema": {"type": "string"},
            }
        }
    }
}


def encode_cursor(key: Key) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")
    )


def decode_cursor(text: str) -> Key:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        decoded = None
    if not isinstance(decoded, list) or not decoded:
        raise HTTPException(
            422, f"cursor {text[:40]!r} is not one this API gave out: take it from a Link header"
        )
    return tuple(decoded)


def page_key(text: str, page: str, kinds: tuple[type | tuple[type, ...], ...]) -> Key | None:
    """The sort key a console page's "next page" link carried (None: the first page), checked part by part
    against `kinds` (exact types: a bool is no int); anything else is a 422 naming `before` and the page."""
    if not text:
        return None
    wrong = HTTPException(422, f"before: {text[:40]!r} is not a cursor of {page}: follow its link")
    try:
        key = decode_cursor(text)
    except HTTPException:
        raise wrong from None
    allowed = [kind if isinstance(kind, tuple) else (kind,) for kind in kinds]
    if len(key) != len(allowed) or any(type(part) not in ok for part, ok in zip(key, allowed, strict=True)):
        raise wrong
    return key


@dataclass(frozen=True)
class PageRequest:
    """The `limit` and decoded `cursor` of one list request, and where to announce the next page."""

    limit: int
    after: Key | None
    request: Request
    response: Response

    def keyset(
        self, query: Select[Any], column: InstrumentedAttribute[Any], *, descending: bool = True
    ) -> Select[Any]:
        """Order by `column` (unique), start after the cursor, and fetch one more row than the limit."""
        if self.after is not None:
            value = self._single(column)
            query = query.where(column < value if descending else column > value)
        return query.order_by(column.desc() if descending else column.asc()).limit(self.limit + 1)

    def _single(self, column: InstrumentedAttribute[Any]) -> Any:
        assert self.after is not None
        expected = column.type.python_type
        value = self.after[0]
        if len(self.after) != 1 or isinstance(value, bool) or not isinstance(value, expected):
            raise HTTPException(
                422, f"cursor {self.after!r} does not belong to this list: take it from its Link header"
            )
        return value

    def finish(self, rows: Sequence[T], key: Callable[[T], Key]) -> list[T]:
        """The page: the first `limit` rows; a Link to the next page when one more row was fetched."""
        page = list(rows[: self.limit])
        if len(rows) > self.limit:
            params = [
                (k, v) for k, v in self.request.query_params.multi_items() if k not in ("cursor", "limit")
            ]
            params += [("limit", str(self.limit)), ("cursor", encode_cursor(key(page[-1])))]
            self.response.headers["link"] = f'<{self.request.url.path}?{urlencode(params)}>; rel="next"'
        return page

    def of_list(self, items: Sequence[T], key: Callable[[T], Key]) -> list[T]:
        """Page a list held in memory: ordered by `key` ascending, starting after the cursor."""
        ordered = sorted(items, key=key)
        if self.after is not None:
            try:
                ordered = [item for item in ordered if key(item) > self.after]
            except TypeError:
                raise HTTPException(
                    422, f"cursor {self.after!r} does not belong to this list: take it from its Link header"
                ) from None
        return self.finish(ordered[: self.limit + 1], key)


def page_request(
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=MAX_CURSOR, description='where to go on: copy it from the Link rel="next" header'),
    ] = None,
) -> PageRequest:
    return PageRequest(limit, decode_cursor(cursor) if cursor else None, request, response)


Paging = Annotated[PageRequest, Depends(page_request)]
