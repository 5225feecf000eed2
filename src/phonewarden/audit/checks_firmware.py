"""firmware-vulnerable and firmware-outdated from (vendor, model, firmware), for configs and probes alike."""

from __future__ import annotations

from typing import Any

from phonewarden.audit.firmware import Advisory, Minimum, is_older, normalize_model, shipped_advisories
from phonewarden.audit.policy import rule
from phonewarden.audit.results import Status

Verdict = tuple[Status, str, str, dict[str, Any]]  # status, detail, remediation, evidence


def firmware_vulnerable(
    vendor: str | None,
    model: str | None,
    firmware: str | None,
    advisories: tuple[Advisory, ...] | None = None,
) -> Verdict:
    advisories = shipped_advisories()[0] if advisories is None else advisories
    if not vendor or not model or not firmware:
        missing = ", ".join(
            n for n, v in (("vendor", vendor), ("model", model), ("firmware", firmware)) if not v
        )
        return (
            Status.UNKNOWN,
            f"cannot match advisories: {missing} not known",
            rule("firmware-vulnerable").why,
            {},
        )
    hits, undecided = [], []
    for advisory in advisories:
        match = advisory.matches(vendor, model, firmware)
        if match:
            hits.append(advisory)
        elif match is None:
            undecided.append(advisory.id)
    if hits:
        cves = sorted({cve for a in hits for cve in a.cves})
        fixes = sorted({a.fixed for a in hits if a.fixed})
        detail = f"{model} {firmware}: " + "; ".join(f"{a.summary} [{a.id}]" for a in hits)
        fix = (
            f"update to {_concrete(fixes[-1], firmware)} or later"
            if fixes
            else "no fixed release: the model is end of life; replace it"
        )
        if any(not a.fixed for a in hits) and fixes:
            fix += "; some flaws have no fix: plan replacement"
        evidence = {
            "cves": cves,
            "advisories": [a.id for a in hits],
            "sources": sorted({a.source for a in hits}),
        }
        return Status.FAIL, detail + (f" ({', '.join(cves)})" if cves else ""), fix, evidence
    if undecided:
        return Status.UNKNOWN, f"version {firmware!r} cannot be compared with {', '.join(undecided)}", "", {}
    return Status.PASS, f"{model} {firmware}: no known advisory", "", {}


def firmware_outdated(
    vendor: str | None, model: str | None, firmware: str | None, minimums: tuple[Minimum, ...] | None = None
) -> Verdict:
    minimums = shipped_advisories()[1] if minimums is None else minimums
    if not vendor or not model or not firmware:
        return Status.UNKNOWN, "model or firmware not known", "", {}
    floors = [m for m in minimums if m.vendor == vendor and m.models.fullmatch(normalize_model(model))]
    if not floors:
        return Status.UNKNOWN, f"no minimum release recorded for {vendor} {model}", "", {}
    floor = floors[0]
    older = is_older(firmware, floor.version, vendor)
    if older is None:
        return Status.UNKNOWN, f"version {firmware!r} cannot be compared with {floor.version}", "", {}
    shown = _concrete(floor.version, firmware)
    if older:
        return (
            Status.FAIL,
            f"{firmware} is older than {shown} ({floor.source})",
            f"update to {shown} or later",
            {},
        )
    return Status.PASS, f"{firmware} is at least {shown}", "", {}


def _concrete(version: str, firmware: str) -> str:
    """x.84.0.53 -> 66.84.0.53 for a phone on 66.x: the exact file name the admin looks for."""
    if version.startswith("x.") and firmware.count(".") == 3:
        return firmware.split(".")[0] + version[1:]
    return version
