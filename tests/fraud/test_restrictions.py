from __future__ import annotations

import pytest

from phonewarden.fraud.rating import Rater
from phonewarden.fraud.records import Restriction
from phonewarden.fraud.restrictions import RestrictionBook, destination_digits
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


def test_denied_attempts_keep_the_restriction_in_force() -> None:
    book = RestrictionBook()
    book.apply(Restriction(time=0, account="a", level=2, until=100, reason="spend"))
    abroad, home = RATER.rate(NUMBERS["abroad"]), RATER.rate(NUMBERS["national"])
    assert not book.authorize("a", abroad, 90).allow  # denied at 90: held until 90 + 100
    assert book.authorize("a", home, 150).allow and book.level("a", 150) == 2  # allowed calls do not renew
    assert not book.authorize("a", abroad, 189).allow
    assert book.level("a", 288) == 2 and book.level("a", 289) == 0  # 100 s without a denied attempt
    assert [e.action for e in book.audit] == ["restrict", "renew", "expire"]  # renewals: once an hour


def test_a_lift_ends_a_renewed_restriction() -> None:
    book = RestrictionBook()
    book.apply(Restriction(time=0, account="a", level=1, until=100, reason="r"))
    book.authorize("a", RATER.rate(NUMBERS["abroad"]), 50)
    assert book.lift("a", "alice", 60) and book.authorize("a", RATER.rate(NUMBERS["abroad"]), 61).allow


@pytest.mark.parametrize(
    "number", ["0053512345678", "003712123456", "00255999", "0099912345", "+999123", "0044207946000"]
)
def test_level_1_denies_every_other_country_code_valid_or_not(number: str) -> None:
    book = RestrictionBook()
    book.apply(Restriction(time=0, account="a", level=1, until=100, reason="r"))
    assert not book.authorize("a", RATER.rate(number), 50).allow
    assert book.authorize("a", RATER.rate("0301"), 50).allow  # a short home number: level 2's business


def test_number_blocks_are_lifted_by_number_only() -> None:
    book = RestrictionBook()
    for number in ("18765550123", "442071234567"):
        book.apply(Restriction(time=0, account="*", level=0, until=100, reason="w", destination=number))
    assert not book.lift("*", "alice", 10)  # "*" is no account
    assert book.lift_destination("18765550123", "alice", 10)
    assert not book.lift_destination("18765550123", "alice", 11)
    assert book.authorize("x", RATER.rate("+18765550123"), 12).allow
    assert not book.authorize("x", RATER.rate(NUMBERS["abroad"]), 12).allow  # the other block stays
    assert not book.lift_destination("442071234567", "alice", 100)  # already ran out
    assert book.audit[-1].action == "unblock-destination" and "+18765550123" in book.audit[-1].reason


@pytest.mark.parametrize(
    ("text", "digits"),
    [("+18765550123", "18765550123"), ("+1 876 555-0123", "18765550123"), ("4930", "4930")],
)
def test_destination_digits(text: str, digits: str) -> None:
    assert destination_digits(text) == digits


@pytest.mark.parametrize("text", ["", "+", "abc", "+1876x", "1" * 16])
def test_destination_digits_refuses_what_is_no_number(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a number in E\.164 form"):
        destination_digits(text)
