"""The pipeline runner: flow through stages to sinks, fault isolation, stats, flushing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phonewarden.core.pipeline import Pipeline


@dataclass
class MapStage:
    name: str
    function: Callable[[int], Iterable[int]]

    def process(self, item: int) -> Iterable[int]:
        return self.function(item)


@dataclass
class ListSink:
    name: str
    fail_on: Callable[[object], bool] = lambda record: False
    records: list[object] = field(default_factory=list)
    closed: bool = False

    def emit(self, record: object) -> None:
        if self.fail_on(record):
            raise OSError(f"disk full writing {record!r}")
        self.records.append(record)

    def close(self) -> None:
        self.closed = True


@dataclass
class HoldingStage:
    """Holds every item back until flush, like a reassembler or a table of pending requests."""

    name: str
    held: list[int] = field(default_factory=list)

    def process(self, item: int) -> Iterable[int]:
        self.held.append(item)
        return ()

    def flush(self) -> Iterable[int]:
        return [item * 100 for item in self.held]


def explode_on_seven(item: int) -> Iterable[int]:
    if item == 7:
        raise ValueError("seven is malformed")
    return [item]


def test_items_flow_through_stages_in_order_with_fan_out_and_reach_every_sink() -> None:
    first, second = ListSink("first"), ListSink("second")
    pipeline = Pipeline(
        stages=[
            MapStage("split", lambda n: [n, n + 10]),
            MapStage("odd-only", lambda n: [n] if n % 2 else []),
            MapStage("double", lambda n: [2 * n]),
        ],
        sinks=[first, second],
    )
    stats = pipeline.run([1, 2, 3])
    assert first.records == second.records == [2, 22, 6, 26]
    assert first.closed and second.closed
    assert stats.items_in == 3
    assert stats.outputs == {"split": 6, "odd-only": 4, "double": 4}
    assert stats.emits == {"first": 4, "second": 4}
    assert set(stats.errors.values()) == {0}


def test_without_stages_items_go_straight_to_the_sinks() -> None:
    sink = ListSink("out")
    Pipeline(stages=[], sinks=[sink]).run(["a", "b"])
    assert sink.records == ["a", "b"]


def test_a_stage_raising_drops_only_that_item_and_is_counted() -> None:
    sink = ListSink("out")
    pipeline = Pipeline(
        stages=[MapStage("decode", explode_on_seven), MapStage("detect", lambda n: [n])], sinks=[sink]
    )
    stats = pipeline.run([5, 7, 9, 7])
    assert sink.records == [5, 9]
    assert stats.errors["decode"] == 2
    assert stats.outputs == {"decode": 2, "detect": 2}


def test_an_error_is_logged_once_per_stage_and_exception_type_with_a_trimmed_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def flaky(item: int) -> Iterable[int]:
        if item % 2:
            raise ValueError(f"odd {item}")
        raise KeyError(item)

    pipeline = Pipeline(stages=[MapStage("flaky", flaky)], sinks=[], logger=logging.getLogger("test.pipe"))
    with caplog.at_level(logging.ERROR, logger="test.pipe"):
        pipeline.run(range(10))
    assert pipeline.stats.errors["flaky"] == 10
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "flaky raised KeyError" in messages[0]  # item 0
    assert "flaky raised ValueError" in messages[1]  # item 1
    assert "in flaky" in messages[1]  # the culprit's frame is kept ...
    assert "in _process" not in messages[1]  # ... the runner's frames are not
    assert "ValueError: odd 1" in messages[1]


def test_a_generator_failing_halfway_gives_none_of_that_items_outputs() -> None:
    def two_then_fail(item: int) -> Iterator[int]:
        yield item
        if item == 2:
            raise RuntimeError("broke mid-item")
        yield item

    sink = ListSink("out")
    stats = Pipeline(stages=[MapStage("gen", two_then_fail)], sinks=[sink]).run([1, 2, 3])
    assert sink.records == [1, 1, 3, 3]
    assert stats.errors["gen"] == 1


def test_a_sink_raising_does_not_stop_the_other_sinks() -> None:
    broken = ListSink("broken", fail_on=lambda record: record == 2)
    healthy = ListSink("healthy")
    stats = Pipeline(stages=[], sinks=[broken, healthy]).run([1, 2, 3])
    assert broken.records == [1, 3]
    assert healthy.records == [1, 2, 3]
    assert stats.emits == {"broken": 2, "healthy": 3}
    assert stats.errors["broken"] == 1
    assert stats.errors["healthy"] == 0


def test_a_sink_failing_to_close_does_not_stop_the_others_closing() -> None:
    class BadClose(ListSink):
        def close(self) -> None:
            raise OSError("flush failed")

    healthy = ListSink("healthy")
    stats = Pipeline(stages=[], sinks=[BadClose("bad"), healthy]).run([])
    assert healthy.closed
    assert stats.errors["bad"] == 1


def test_close_flushes_held_items_through_the_later_stages_only() -> None:
    sink = ListSink("out")
    early = MapStage("early", lambda n: [n + 1])
    holding = HoldingStage("holding")
    late = MapStage("late", lambda n: [n + 3])
    stats = Pipeline(stages=[early, holding, late], sinks=[sink]).run([1, 2])
    assert sink.records == [203, 303]  # (n + 1) * 100 + 3: flushed items skip "early", pass "late"
    assert stats.outputs == {"early": 2, "holding": 2, "late": 2}


def test_a_flush_that_raises_is_counted_and_sinks_still_close() -> None:
    class BadFlush(HoldingStage):
        def flush(self) -> Iterable[int]:
            raise RuntimeError("lost state")

    sink = ListSink("out")
    stats = Pipeline(stages=[BadFlush("holding")], sinks=[sink]).run([1])
    assert stats.errors["holding"] == 1
    assert sink.closed


def test_push_style_feed_then_close_once() -> None:
    sink = ListSink("out")
    pipeline = Pipeline(stages=[MapStage("id", lambda n: [n])], sinks=[sink])
    pipeline.feed(1)
    pipeline.feed(2)
    assert sink.records == [1, 2] and not sink.closed
    pipeline.close()
    pipeline.close()
    assert sink.closed
    with pytest.raises(RuntimeError, match="closed"):
        pipeline.feed(3)
    assert pipeline.stats.items_in == 2


def test_duplicate_names_are_refused_because_stats_are_keyed_by_name() -> None:
    with pytest.raises(ValueError, match="dup"):
        Pipeline(stages=[MapStage("dup", lambda n: [n])], sinks=[ListSink("dup")])


@given(st.lists(st.integers(0, 20), max_size=60), st.sets(st.integers(0, 20)), st.sets(st.integers(0, 20)))
def test_stage_and_sink_failures_cost_exactly_the_failing_items(
    items: list[int], stage_fails: set[int], sink_fails: set[int]
) -> None:
    def detector(item: int) -> Iterable[int]:
        if item in stage_fails:
            raise ValueError(item)
        return [item]

    picky = ListSink("picky", fail_on=lambda record: record in sink_fails)
    steady = ListSink("steady")
    stats = Pipeline(
        stages=[MapStage("detector", detector)], sinks=[picky, steady], logger=logging.getLogger("quiet")
    ).run(items)
    survivors = [item for item in items if item not in stage_fails]
    assert steady.records == survivors
    assert picky.records == [item for item in survivors if item not in sink_fails]
    assert stats.errors["detector"] == len(items) - len(survivors)
    assert stats.errors["picky"] == len(survivors) - len(picky.records)
    assert stats.emits == {"picky": len(picky.records), "steady": len(survivors)}
