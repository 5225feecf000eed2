"""`phonewarden wire dump`: print the SIP, DNS, HTTP and TLS records of a capture or an interface.

`--json` writes JSON Lines (one object per record, with `type`, `time` and the type's fields); the
human form is one coloured line per record. A summary of what was skipped goes to stderr.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from phonewarden.capture.live import LiveCapture, LiveCaptureError
from phonewarden.capture.replay import CaptureError, CaptureReplay
from phonewarden.core.pipeline import Pipeline
from phonewarden.core.records import Frame, iso_time
from phonewarden.output import JsonLinesSink
from phonewarden.wire.dns import type_name
from phonewarden.wire.traffic import NetworkRecord, TrafficDecoder

app = typer.Typer(help="Decode traffic: SIP (also in HEP), DNS, HTTP, TLS ClientHello", no_args_is_help=True)
RECORD_TYPES = ("sip", "dns", "http", "tls")


@app.command()
def dump(
    capture: Annotated[
        Path | None, typer.Argument(help="pcap/pcapng file, gzip allowed", dir_okay=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines on stdout")] = False,
    types: Annotated[str, typer.Option("--type", help="Comma-separated record types to show")] = ",".join(
        RECORD_TYPES
    ),
    interface: Annotated[str | None, typer.Option("--interface", "-i", help="Capture live instead")] = None,
    bpf_filter: Annotated[str, typer.Option("--filter", "-f", help="BPF filter for live capture")] = "",
    count: Annotated[int | None, typer.Option(help="Stop after this many live frames")] = None,
    seconds: Annotated[float | None, typer.Option(help="Stop live capture after this many seconds")] = None,
) -> None:
    wanted = {name.strip() for name in types.split(",") if name.strip()}
    unknown = wanted - set(RECORD_TYPES)
    if unknown:
        raise typer.BadParameter(f"unknown type(s) {sorted(unknown)}; known: {', '.join(RECORD_TYPES)}")
    if (capture is None) == (interface is None):
        raise typer.BadParameter("give a capture FILE or --interface, not both or neither")
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    decoder = TrafficDecoder()
    frames: Iterable[Frame]
    if capture is not None:
        frames = CaptureReplay(capture)
    else:
        assert interface is not None
        frames = LiveCapture(interface, bpf_filter).frames(max_frames=count, max_seconds=seconds)
    sink: JsonLinesSink | HumanSink = (
        JsonLinesSink(sys.stdout.buffer) if as_json else HumanSink(Console(highlight=False, soft_wrap=True))
    )
    selector = TypeSelector(wanted)
    pipeline = Pipeline([decoder, selector], [sink])
    try:
        stats = pipeline.run(frames)
    except (CaptureError, LiveCaptureError) as exc:
        err.print(f"[red]phonewarden: {escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    except BrokenPipeError:  # `| head` closed the pipe: stop quietly
        sys.stderr.close()
        raise typer.Exit(0) from None
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(selector.selected.items())) or "no records"
    skipped = ", ".join(f"{name}={n}" for name, n in sorted(decoder.anomalies.items()))
    err.print(f"{decoder.frames} frames: {summary}" + (f"; anomalies: {skipped}" if skipped else ""))
    failures = {name: n for name, n in stats.errors.items() if n}
    if failures:
        err.print(f"[red]errors (logged): {failures}[/red]")
        raise typer.Exit(1)


class TypeSelector:
    """Pipeline stage keeping the record types asked for, and counting them."""

    name = "select"

    def __init__(self, wanted: set[str]) -> None:
        self.wanted = wanted
        self.selected: Counter[str] = Counter()

    def process(self, record: NetworkRecord[Any]) -> list[NetworkRecord[Any]]:
        if record.type not in self.wanted:
            return []
        self.selected[record.type] += 1
        return [record]


class HumanSink:
    """One coloured line per record."""

    name = "human"

    def __init__(self, console: Console) -> None:
        self.console = console

    def emit(self, record: NetworkRecord[Any]) -> None:
        self.console.print(describe(record))

    def close(self) -> None:
        self.console.file.flush()


def describe(record: NetworkRecord[Any]) -> str:
    """One human line per record."""
    segment, body = record.segment, record.body
    where = f"{segment.src}:{segment.sport} → {segment.dst}:{segment.dport} {segment.transport}"
    head = f"[dim]{iso_time(record.time)}[/dim] {escape(where)} [bold]{record.type}[/bold]"
    if record.type == "sip":
        first = body.request_uri if body.is_request else body.status
        agent = body.user_agent or body.server
        detail = " ".join(str(part) for part in (body.method, first, agent) if part)
        if record.hep is not None:
            detail += f" (HEP{record.hep.version} from {record.hep_agent})"
    elif record.type == "dns":
        detail = " ".join(f"{q.name}/{type_name(q.qtype)}" for q in body.questions)
    elif record.type == "http":
        detail = f"{body.method} {body.host or ''}{body.target}"
    else:
        detail = f"ClientHello sni={body.sni}" + (" ECH" if body.has_ech else "")
    anomalies = body.anomalies
    suffix = f" [yellow]anomalies={','.join(anomalies)}[/yellow]" if anomalies else ""
    return f"{head} {escape(detail)}{suffix}"
