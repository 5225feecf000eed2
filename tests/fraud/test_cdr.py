from __future__ import annotations

import pytest

from phonewarden.fraud.cdr import CdrRowError, LocalTimeParser, parse_any_time, parse_epoch, parse_number


def test_local_time_in_zone_and_across_dst() -> None:
    berlin = LocalTimeParser("Europe/Berlin")
    assert berlin.parse("2026-01-15 12:00:00") == 1768474800.0  # CET, UTC+1
    assert berlin.parse("2026-07-15 12:00:30") == 1784109630.0  # CEST, UTC+2
    assert LocalTimeParser().parse("2026-01-15 12:00:00") == 1768478400.0


@pytest.mark.parametrize(
    "bad", ["2026-01-15", "15.01.2026 12:00:00", "2026-13-15 12:00:00", "2026-01-15 12:xx:00"]
)
def test_bad_local_time_says_what_is_wrong(bad: str) -> None:
    with pytest.raises(CdrRowError, match="time"):
        LocalTimeParser().parse(bad)


def test_any_time_forms() -> None:
    local = LocalTimeParser("UTC")
    assert parse_any_time("1768478400", "end", local) == 1768478400.0
    assert parse_any_time("1768478400000000", "end", local) == 1768478400.0  # FreeSWITCH microseconds
    assert parse_any_time("2026-01-15T13:00:00+01:00", "end", local) == 1768478400.0
    assert parse_any_time("2026-01-15T12:00:00Z", "end", local) == 1768478400.0
    with pytest.raises(CdrRowError, match="end 'yesterday' is neither"):
        parse_any_time("yesterday", "end", local)


def test_numbers_and_epochs_are_range_checked() -> None:
    assert parse_number("12.5", "billsec") == 12.5
    with pytest.raises(CdrRowError, match="billsec '-1' is out of range"):
        parse_number("-1", "billsec")
    with pytest.raises(CdrRowError, match="not a plausible epoch"):
        parse_epoch("12", "time")


def test_cached_minutes_give_the_same_epoch_as_a_fresh_parser() -> None:
    """The minute cache must not carry one row's seconds or zone offset into another row."""
    cached = LocalTimeParser("Europe/Berlin")
    texts = [f"2026-03-29 0{h}:{m:02d}:{s:02d}" for h in (1, 3) for m in (0, 59) for s in (0, 7, 59)]
    for text in texts + texts:  # the second round hits the cache
        assert cached.parse(text) == LocalTimeParser("Europe/Berlin").parse(text), text
    assert cached.parse("2026-03-29 03:00:00") - cached.parse("2026-03-29 01:59:59") == 1.0  # DST gap


@pytest.mark.parametrize("bad", ["2026-01-15 12:00:xx", "2026-01-15 12:00:75", "2026-01-15 12:00:nan"])
def test_bad_seconds_after_a_cached_minute_still_fail(bad: str) -> None:
    parser = LocalTimeParser()
    parser.parse(bad[:17] + "00")
    with pytest.raises(CdrRowError, match="time"):
        parser.parse(bad)


def test_minutes_out_of_range_fail() -> None:
    with pytest.raises(CdrRowError, match="out of range"):
        LocalTimeParser().parse("2026-01-15 12:61:00")
