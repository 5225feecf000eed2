from __future__ import annotations

from pathlib import Path
from typing import Any

from phonewarden.privacy.detect_new import Baseline
from phonewarden.privacy.inventory import load_inventory
from phonewarden.privacy.policy import parse_policy
from phonewarden.privacy.service import Analysis, analyze_capture


def check_planted(analysis: Analysis, planted: list[dict[str, Any]]) -> None:
    """Every planted leak found with its identifier and encoding; no tier-1 leak that was not planted."""
    found = {
        (leak.device, leak.identifier, leak.encoding, leak.destination.host or leak.destination.address)
        for leak in analysis.leaks
        if leak.confidence == "high"
    }
    wanted = {(p["device"], p["identifier"], p["encoding"], p["host"]) for p in planted}
    assert wanted - found == set(), "planted leaks not found"
    assert found - wanted == set(), "tier-1 leaks that were never planted"


def test_planted_leaks_found_and_no_false_tier1(
    capture: Path, devices_file: Path, planted: list[Any]
) -> None:
    analysis = analyze_capture(capture, load_inventory(devices_file), [parse_policy("eu")])
    check_planted(analysis, planted)


def test_unknown_device_gets_tier2_from_base64_activation(capture: Path, devices_file: Path) -> None:
    analysis = analyze_capture(capture, load_inventory(devices_file), [])
    guest = {(leak.identifier, leak.encoding) for leak in analysis.leaks if leak.device == "guest-phone"}
    assert guest == {("imei", "base64"), ("imsi", "base64"), ("mac", "base64")}
    assert all(leak.confidence == "low" for leak in analysis.leaks if leak.device == "guest-phone")


def test_destinations_named_counted_and_placed(capture: Path, devices_file: Path) -> None:
    analysis = analyze_capture(capture, load_inventory(devices_file), [])
    by_host = {(d.device, d.host): d for d in analysis.destinations}
    zzhc = by_host[("nokia-7-plus", "zzhc.vnet.cn")]
    assert (zzhc.country, zzhc.org, zzhc.protocol, zzhc.host_source) == ("CN", "Chinanet", "http", "http")
    assert zzhc.bytes_out > 400 and zzhc.bytes_in > 0
    snom_tls = by_host[("snom-d785", "provisioning.snom.com")]
    assert snom_tls.country == "DE"
    no_sni = [d for d in analysis.destinations if d.address == "8.8.4.4"]
    assert [d.opaque for d in no_sni] == ["tls-no-sni"] and no_sni[0].uncertain
    assert analysis.summary.devices["nokia-7-plus"]["opaque_share"] > 0
    # the snom is known only by its MAC: its address was learnt from the frames
    assert analysis.summary.devices["snom-d785"]["destinations"] >= 3


def test_residency_verdicts(capture: Path, devices_file: Path) -> None:
    policies = [parse_policy("eu"), parse_policy("domains:snom.com,example.de")]
    analysis = analyze_capture(capture, load_inventory(devices_file), policies)
    status = {(v.device, v.policy): v.status for v in analysis.verdicts}
    assert status[("nokia-7-plus", "EU/EEA only")] == "violation"
    assert any("zzhc.vnet.cn" in reason for v in analysis.verdicts for reason in v.reasons)
    # snom: DE, but also the Quad9 resolver (anycast, US-registered) and the Google TLS flow? only DNS
    assert status[("snom-d785", "EU/EEA only")] in ("violation", "uncertain")


def test_new_destination_alerts_against_baseline(capture: Path, devices_file: Path) -> None:
    devices = load_inventory(devices_file)
    baseline = Baseline()
    baseline.add("nokia-7-plus", "shop.example.de", "DE")
    analysis = analyze_capture(capture, devices, [], baseline)
    nokia = {(a.destination.host or a.destination.address, a.new_country) for a in analysis.alerts
             if a.device == "nokia-7-plus"}  # fmt: skip
    assert ("zzhc.vnet.cn", True) in nokia
    assert not any(host == "shop.example.de" for host, _ in nokia)
