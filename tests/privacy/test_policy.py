from __future__ import annotations

import pytest

from phonewarden.privacy.findings import Destination
from phonewarden.privacy.policy import PolicyError, parse_policy, verdicts


def dest(
    country: str | None, host: str | None = None, uncertain: bool = False, scope: str = "public"
) -> Destination:
    d = Destination("p", "tcp", "203.0.113.9", 443, 1.0, 2.0, bytes_out=10, host=host, country=country)
    d.uncertain, d.scope = uncertain, scope
    return d


@pytest.mark.parametrize(
    ("policy", "flows", "status"),
    [
        ("eu", [dest("DE"), dest("FR")], "ok"),
        ("eu", [dest("DE"), dest("CN")], "violation"),
        ("eu", [dest("DE"), dest("US", uncertain=True)], "uncertain"),
        ("eu", [dest(None)], "uncertain"),
        ("de", [dest("DE"), dest("AT")], "violation"),
        ("countries:DE,AT", [dest("AT")], "ok"),
        ("domains:snom.com", [dest("US", "a.snom.com")], "ok"),
        ("domains:snom.com", [dest("DE", "evil.com")], "violation"),
        ("eu", [dest("CN", scope="private")], "ok"),
    ],
)
def test_verdicts(policy: str, flows: list[Destination], status: str) -> None:
    [verdict] = verdicts(parse_policy(policy), flows, ["p"], 5.0)
    assert verdict.status == status
    assert bool(verdict.reasons) == (status != "ok")


@pytest.mark.parametrize("text", ["mars", "countries:", "countries:DEU", "domains:"])
def test_bad_policies(text: str) -> None:
    with pytest.raises(PolicyError):
        parse_policy(text)


def _shared(*names: str) -> Destination:
    d = Destination("p", "tcp", "104.16.132.229", 443, 1.0, 2.0, bytes_out=10, country="US")
    for name in names:
        d.add_name(name, "sni")
    return d


def test_every_name_of_a_shared_address_is_judged() -> None:
    policy = parse_policy("domains:vendor.com")
    assert policy.judge(_shared("api.vendor.com", "cdn.vendor.com")) == "ok"
    [verdict] = verdicts(policy, [_shared("tracker.evil.example", "api.vendor.com")], ["p"], 5.0)
    assert verdict.status == "violation"  # the last name seen is the vendor's: it must not hide the other
    assert verdict.reasons == ["sent 10 bytes to 104.16.132.229:443 in US, named tracker.evil.example "
                               "(among 2 names)"]  # fmt: skip
    assert verdict.to_json()["flows"][0]["hosts"] == ["tracker.evil.example", "api.vendor.com"]


def test_names_beyond_the_bound_make_a_domain_verdict_uncertain() -> None:
    crowded = _shared(*(f"n{index}.vendor.com" for index in range(80)))
    assert crowded.hosts_dropped and parse_policy("domains:vendor.com").judge(crowded) == "uncertain"
