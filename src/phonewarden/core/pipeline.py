"""The runner: source -> stages (decoders, detectors, policy) -> sinks, with fault isolation.

Like mitmproxy's `safecall`: a stage or sink that raises is logged once per (name, exception type) with a
traceback trimmed to its own frames, counted in `stats.errors`, and the rest goes on. A buggy detector
must never stop ingestion, and a flood of one bad packet type must not flood the log.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

_TRACEBACK_FRAMES = 8  # the innermost frames say what broke; the rest is noise in an operator's log


class Stage(Protocol):
    """Turns one item into zero or more items for the next stage (a decoder, a detector, a policy)."""

    @property
    def name(self) -> str: ...

    def process(self, item: Any) -> Iterable[Any]: ...


@runtime_checkable
class FlushingStage(Stage, Protocol):
    """A stage holding items back (reassembly, pending requests) that can give them up at end of input."""

    def flush(self) -> Iterable[Any]: ...


class Sink(Protocol):
    """Receives every output of the last stage: JSON Lines writer, store, alerting, enforcement."""

    @property
    def name(self) -> str: ...

    def emit(self, record: Any) -> None: ...

    def close(self) -> None: ...


@dataclass(slots=True)
class PipelineStats:
    items_in: int = 0
    outputs: dict[str, int] = field(default_factory=dict)  # per stage: items it produced
    emits: dict[str, int] = field(default_factory=dict)  # per sink: records it accepted
    errors: dict[str, int] = field(default_factory=dict)  # per stage or sink: calls that raised


class Pipeline:
    """Feeds items through `stages` in order; what the last stage outputs goes to every sink.

    Pull-style sources call `run(items)`; push-style ones (the HEP listener) call `feed(item)` per item and
    `close()` at the end. Closing flushes held-back items through the remaining stages, then closes sinks.
    """

    def __init__(
        self, stages: Sequence[Stage], sinks: Sequence[Sink], logger: logging.Logger | None = None
    ) -> None:
        names = [stage.name for stage in stages] + [sink.name for sink in sinks]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"stage and sink names must be unique (stats are keyed by them): {duplicates}")
        self.stages = tuple(stages)
        self.sinks = tuple(sinks)
        self.logger = logger or logging.getLogger(__name__)
        self.stats = PipelineStats(
            outputs={stage.name: 0 for stage in stages},
            emits={sink.name: 0 for sink in sinks},
            errors={name: 0 for name in names},
        )
        self._logged: set[tuple[str, type[Exception]]] = set()
        self._closed = False

    def run(self, items: Iterable[object]) -> PipelineStats:
        """Feed every item, then close; return the stats."""
        for item in items:
            self.feed(item)
        self.close()
        return self.stats

    def feed(self, item: object) -> None:
        if self._closed:
            raise RuntimeError("pipeline is closed")
        self.stats.items_in += 1
        self._flow([item], 0)

    def close(self) -> None:
        """Flush stages that hold items back, in order, then close every sink. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for index, stage in enumerate(self.stages):
            if isinstance(stage, FlushingStage):
                try:
                    flushed = list(stage.flush())
                except Exception as error:
                    self._failed(stage.name, error)
                    continue
                self.stats.outputs[stage.name] += len(flushed)
                self._flow(flushed, index + 1)
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as error:
                self._failed(sink.name, error)

    def _flow(self, batch: list[Any], first_stage: int) -> None:
        for stage in self.stages[first_stage:]:
            next_batch: list[Any] = []
            for item in batch:
                next_batch.extend(self._process(stage, item))
            self.stats.outputs[stage.name] += len(next_batch)
            batch = next_batch
            if not batch:
                return
        for record in batch:
            for sink in self.sinks:
                self._emit(sink, record)

    def _process(self, stage: Stage, item: Any) -> list[Any]:
        try:
            # list() so a generator failing halfway drops that item's outputs whole, not half of them.
            return list(stage.process(item))
        except Exception as error:
            self._failed(stage.name, error)
            return []

    def _emit(self, sink: Sink, record: Any) -> None:
        try:
            sink.emit(record)
        except Exception as error:
            self._failed(sink.name, error)
        else:
            self.stats.emits[sink.name] += 1

    def _failed(self, name: str, error: Exception) -> None:
        """Count the error; log it only the first time this stage/sink raises this exception type."""
        self.stats.errors[name] += 1
        key = (name, type(error))
        if key in self._logged:
            return
        self._logged.add(key)
        self.logger.error(
            "%s raised %s (logged once; later ones are only counted in errors[%r]):\n%s",
            name,
            type(error).__name__,
            name,
            _trimmed_traceback(error),
        )


def _trimmed_traceback(error: BaseException) -> str:
    # Frames of this module (the runner) say nothing about the bug; keep the innermost ones of the culprit.
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename != __file__]
    lines = traceback.format_list(frames[-_TRACEBACK_FRAMES:])
    lines += traceback.format_exception_only(type(error), error)
    return "".join(lines).rstrip()
