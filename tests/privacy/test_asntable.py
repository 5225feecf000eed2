from __future__ import annotations

import ipaddress
import mmap
import random
from pathlib import Path

import pytest
from geoip2fast import GeoIP2Fast

from phonewarden.privacy.asntable import AsnTable, load_table


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AsnTable]:
    cache = tmp_path_factory.mktemp("cache")
    return cache, load_table(cache)


def _geoip2fast_answer(reference: GeoIP2Fast, address: int) -> tuple[str | None, str | None]:
    answer = reference.lookup(str(ipaddress.IPv4Address(address)))
    country = answer.country_code if answer.country_code not in ("", "--") else None
    return country, answer.asn_name or None


def test_same_answers_as_geoip2fast(built: tuple[Path, AsnTable]) -> None:
    _, table = built
    reference = GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz", verbose=False)
    rng = random.Random(5)
    starts = list(table.starts)
    # Random addresses, and both sides of a sample of the table's own range edges.
    edges = [start + delta for start in rng.sample(starts, 20000) for delta in (-1, 0) if start + delta >= 0]
    addresses = [rng.randrange(1 << 32) for _ in range(30000)] + edges + [0, (1 << 32) - 1]
    wrong = [
        (str(ipaddress.IPv4Address(a)), _geoip2fast_answer(reference, a), table.lookup(a))
        for a in addresses
        if _geoip2fast_answer(reference, a) != (table.lookup(a).country, table.lookup(a).org)
    ]
    assert not wrong, wrong[:5]
    assert (table.lookup(int(ipaddress.IPv4Address("202.97.1.10"))).org) == "Chinanet"
    assert table.source.startswith("MAXMIND:GeoLite2-CountryASN-IPv4-en-")


def test_second_load_maps_the_cache_file(built: tuple[Path, AsnTable]) -> None:
    cache, first = built
    again = load_table(cache)
    assert isinstance(again._buffer, mmap.mmap)
    assert len(again) == len(first) and again.source == first.source
    address = int(ipaddress.IPv4Address("8.8.4.4"))
    assert again.lookup(address) == first.lookup(address)


def test_damaged_cache_is_rebuilt(built: tuple[Path, AsnTable], tmp_path: Path) -> None:
    _, first = built
    load_table(tmp_path)
    [cached] = tmp_path.glob("asn-ipv4-*.bin")
    cached.write_bytes(b"not a table")
    rebuilt = load_table(tmp_path)
    assert len(rebuilt) == len(first)
    assert cached.read_bytes()[:11] == b"phonewarden"


def test_unwritable_cache_still_answers(built: tuple[Path, AsnTable], tmp_path: Path) -> None:
    _, first = built
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    table = load_table(blocker / "cache")  # cannot be a directory: built in memory
    assert not isinstance(table._buffer, mmap.mmap)
    assert len(table) == len(first)
