"""New-destination alerts: a device talks to a host or country it never used before (after an update?).

What is "known" comes from a baseline: an earlier run's destination records (`--baseline FILE`, JSON Lines
from `analyze --json`) or the store. Pure: destinations in, alerts out. Every name of a destination counts
(`hosts`: an address shared by several names), so a new name on a known CDN address still alerts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from phonewarden.privacy.findings import Destination, NewDestination


@dataclass(slots=True)
class Baseline:
    places: set[tuple[str, str]] = field(default_factory=set)  # (device, host or address)
    countries: set[tuple[str, str]] = field(default_factory=set)  # (device, country)

    def add(self, device: str, place: str, country: str | None) -> None:
        self.places.add((device, place))
        if country:
            self.countries.add((device, country))

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]]) -> Baseline:
        baseline = cls()
        for record in records:
            if record.get("type") == "destination" and "device" in record:
                names = record.get("hosts") or ([record["host"]] if record.get("host") else [])
                for place in names or [record.get("address", "")]:
                    baseline.add(str(record["device"]), str(place), record.get("country"))
        return baseline


def new_destinations(baseline: Baseline, destinations: Iterable[Destination]) -> list[NewDestination]:
    """Alerts in event-time order; each new place (a name, or the address of an unnamed destination)
    alerts once, a new country is flagged as such."""
    alerts = []
    for dest in sorted(destinations, key=lambda d: d.first_seen):
        if dest.scope != "public":
            continue
        for place in dest.names or [dest.address]:
            if (dest.device, place) in baseline.places:
                continue
            new_country = bool(dest.country) and (dest.device, dest.country) not in baseline.countries
            host = place if len(dest.names) > 1 else None  # which of the names is new
            alerts.append(NewDestination(dest.first_seen, dest.device, dest, new_country, host))
            baseline.add(dest.device, place, dest.country)
    return alerts
