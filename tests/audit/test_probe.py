from __future__ import annotations

import asyncio
import time

import pytest

from phonewarden.audit.probe import HostFacts, RateLimiter, TargetError, expand_targets


def test_targets_expand_in_order_once() -> None:
    assert expand_targets(["198.51.100.9", "198.51.100.8/30", "198.51.100.9/32"], 100) == [
        "198.51.100.9",
        "198.51.100.10",
    ]
    assert len(expand_targets(["198.51.100.0/24"], 1024)) == 254
    assert expand_targets(["::1"], 10) == ["::1"]


def test_bad_or_too_large_targets_are_refused_before_sending() -> None:
    with pytest.raises(TargetError, match=r"'phones\.example' is not an IP address or CIDR"):
        expand_targets(["phones.example"], 10)
    with pytest.raises(TargetError, match="limit is 1024"):
        expand_targets(["10.0.0.0/8"], 1024)
    with pytest.raises(TargetError, match="more than 100 hosts"):
        expand_targets(["198.51.100.0/25"], 100)


def test_rate_limiter_spaces_out_starts() -> None:
    async def run() -> float:
        limiter = RateLimiter(50.0)
        started = time.monotonic()
        await asyncio.gather(*(limiter.wait() for _ in range(11)))
        return time.monotonic() - started

    elapsed = asyncio.run(run())
    assert 0.18 <= elapsed < 1.0  # 10 intervals of 20 ms


def test_a_host_without_answers_is_not_alive() -> None:
    facts = HostFacts("198.51.100.7", 0.0, ports={22: False, 80: False})
    assert not facts.alive
    facts.tftp = True
    assert facts.alive
