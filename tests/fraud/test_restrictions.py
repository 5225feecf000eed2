from __future__ import annotations

import pytest

from phonewarden.fraud.rating import Rater
from phonewarden.fraud.records import Restriction
from phonewarden.fraud.restrictions import RestrictionBook
from phonewarden.fraud.settings import FraudSettings

RATER = Rater(FraudSettings())
NUMBERS = {
    "national": "030123456",
    "premium": "09001234567",
    "abroad": "00442071234567",
    "satellite": "0088213456789",
    "emergency": "112",
}


@pytest.mark.parametrize(
    ("level", "allowed"),
    [
        (1, {"national", "premium", "emergency"}),
        (2, {"national", "emergency"}),
        (3, {"emergency"}),
    ],
)
def test_levels(level: int, allowed: set[str]) -> None:
    book = RestrictionBook()
    book.apply(Restriction(time=0, account="a", level=level, until=100, reason="test"))
    got = {name for name, number in NUMBERS.items() if book.authorize("a", RATER.rate(number), 50).allow}
    assert got == allowed
    assert book.authorize("other", RATER.rate(NUMBERS["satellite"]), 50).allow


def test_expiry_lift_and_audit() -> None:
    book = RestrictionBook()
    assert book.apply(Restriction(time=0, account="a", level=2, until=100, reason="r"))
    assert not book.apply(Restriction(time=10, account="a", level=1, until=50, reason="weaker"))
    assert book.level("a", 99) == 2 and book.level("a", 100) == 0
    book.apply(Restriction(time=200, account="a", level=3, until=900, reason="r2"))
    assert book.lift("a", "alice", 300) and not book.lift("a", "alice", 301)
    assert [(e.action, e.actor) for e in book.audit] == [
        ("restrict", "phonewarden"),
        ("expire", "phonewarden"),
        ("restrict", "phonewarden"),
        ("lift", "alice"),
    ]


def test_destination_block_applies_to_everyone_until_it_ends() -> None:
    book = RestrictionBook()
    book.apply(
        Restriction(time=0, account="*", level=0, until=100, reason="wangiri", destination="442071234567")
    )
    decision = book.authorize("anyone", RATER.rate(NUMBERS["abroad"]), 10)
    assert not decision.allow and "blocked: wangiri" in decision.reason
    assert book.authorize("anyone", RATER.rate(NUMBERS["abroad"]), 100).allow
