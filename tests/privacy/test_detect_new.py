from __future__ import annotations

from phonewarden.privacy.detect_new import Baseline, new_destinations
from phonewarden.privacy.findings import Destination


def test_alerts_once_per_new_place_and_flags_new_country() -> None:
    baseline = Baseline.from_records(
        [{"type": "destination", "device": "p", "host": "a.de", "country": "DE"}]
    )
    seen = [(1, "a.de", "DE"), (2, "b.de", "DE"), (3, "x.cn", "CN"), (4, "x.cn", "CN")]
    flows = [Destination("p", "tcp", "1.2.3.4", 80, t, t, host=h, country=c) for t, h, c in seen]
    alerts = new_destinations(baseline, flows)
    assert [(a.destination.host, a.new_country) for a in alerts] == [("b.de", False), ("x.cn", True)]


def test_a_new_name_on_a_known_address_alerts() -> None:
    baseline = Baseline.from_records([{"type": "destination", "device": "p", "host": "api.vendor.com",
                                       "address": "104.16.132.229", "country": "US"}])  # fmt: skip
    shared = Destination("p", "tcp", "104.16.132.229", 443, 1.0, 1.0, country="US")
    for name in ("tracker.evil.example", "api.vendor.com"):
        shared.add_name(name, "sni")
    [alert] = new_destinations(baseline, [shared])
    assert alert.to_json()["host"] == "tracker.evil.example" and not alert.new_country
    # a stored record with several names makes all of them known
    again = Baseline.from_records([{"type": "destination", **shared.to_json()}])
    assert new_destinations(again, [shared]) == []
