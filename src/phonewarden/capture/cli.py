"""`phonewarden wire dump`: print the SIP, DNS, HTTP and TLS records of a capture or an interface.

`--json` writes JSON Lines (one object per record, with `type`, `time` and the type's fields); the
human form is one coloured line per record. A summary of what was skipped goes to stderr.
"""

from __future__ import annotations

import json
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
from phonewarden.core.records import Frame, iso_time
from phonewarden.wire.traffic import NetworkRecord, TrafficDecoder

app = typer.Typer(help="Decode traffic: SIP (also in HEP), DNS, HTTP, TLS ClientHello", no_args_is_help=True)
RECORD_TYPES = ("sip", "dns", "http", "tls")


@app.command()
def dump(
    capture: Annotated[Path | None, typer.Argument(help="pcap/pcapng file, gzip allowed", dir_okay=False)] = None,
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
    out = Console(highlight=False, soft_wrap=True)
    shown: Counter[str] = Counter()
    try:
        for frame in frames:
            for record in decoder.feed(frame):
                if record.type not in wanted:
                    continue
                shown[record.type] += 1
                if as_json:
                    sys.stdout.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
                else:
                    out.print(describe(record))
    except (CaptureError, LiveCaptureError) as exc:
        err.print(f"[red]phonewarden: {escape(str(exc))}[/red]")
        raise typer.Exit(2) from exc
    except BrokenPipeError:  # `| head` closed the pipe: stop quietly
        sys.stderr.close()
        raise typer.Exit(0) from None
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(shown.items())) or "no records"
    anomalies = decoder.anomalies
    skipped = ", ".join(f"{name}={n}" for name, n in sorted(anomalies.items()))
    err.print(f"{decoder.stats['frames']} frames: {summary}" + (f"; anomalies: {skipped}" if skipped else ""))


def describe(record: NetworkRecord[Any]) -> str:
    """One human line per record."""
    data = record.to_json()
    where = f"{data['src']}:{data['sport']} → {data['dst']}:{data['dport']} {data['transport']}"
    head = f"[dim]{iso_time(record.time)}[/dim] {escape(where)} [bold]{record.type}[/bold]"
    if record.type == "sip":
        what = data.get("method", "") if data.get("status") is None else f"{data['status']} {data.get('method', '')}"
        detail = " ".join(
            str(part) for part in (what, data.get("request_uri"), data.get("user_agent") or data.get("server")) if part
        )
        if "hep" in data:
            detail += f" (HEP{data['hep']['version']} from {data['hep'].get('agent')})"
    elif record.type == "dns":
        detail = " ".join(f"{q.get('name')}/{q.get('type')}" for q in data.get("questions", []))
    elif record.type == "http":
        detail = f"{data.get('method')} {data.get('host') or ''}{data.get('target')}"
    else:
        detail = f"ClientHello sni={data.get('sni')}" + (" ECH" if data.get("has_ech") else "")
    anomalies = data.get("anomalies")
    suffix = f" [yellow]anomalies={','.join(anomalies)}[/yellow]" if anomalies else ""
    return f"{head} {escape(detail)}{suffix}"
