from __future__ import annotations

import ipaddress
import mmap
import random
from pathlib import Path

import pytest
from geoip2fast import GeoIP2Fast

from phonewarden.privacy.asntable import AsnTable, build_table_bytes, data_file, load_table

# geoip2fast keeps its loaded data in module globals: each test loads its reference right before using it.


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AsnTable]:
    cache = tmp_path_factory.mktemp("cache")
    return cache, load_table(cache)


@pytest.fixture(scope="module")
def built6(built: tuple[Path, AsnTable]) -> AsnTable:
    return load_table(built[0], family=6)


def _differences(
    table: AsnTable, data_file_name: str, addresses: list[int]
) -> list[tuple[str, object, object]]:
    reference = GeoIP2Fast(geoip2fast_data_file=data_file_name, verbose=False)
    wrong = []
    for address in addresses:
        text = str(ipaddress.ip_address(address) if table.family == 4 else ipaddress.IPv6Address(address))
        answer = reference.lookup(text)
        expected = (
            answer.country_code if answer.country_code not in ("", "--") else None,
            answer.asn_name or None,
        )
        mine = table.lookup(address)
        if expected != (mine.country, mine.org):
            wrong.append((text, expected, mine))
    return wrong


def _edges(table: AsnTable, rng: random.Random, count: int) -> list[int]:
    """Both sides of a sample of the table's own range starts."""
    starts = [table.start(i) for i in rng.sample(range(1, len(table)), count)]
    return [start + delta for start in starts for delta in (-1, 0)]


def test_same_answers_as_geoip2fast(built: tuple[Path, AsnTable]) -> None:
    _, table = built
    rng = random.Random(5)
    addresses = (
        [rng.randrange(1 << 32) for _ in range(30000)] + _edges(table, rng, 20000) + [0, (1 << 32) - 1]
    )
    wrong = _differences(table, "geoip2fast-asn.dat.gz", addresses)
    assert not wrong, wrong[:5]
    assert (table.lookup(int(ipaddress.IPv4Address("202.97.1.10"))).org) == "Chinanet"
    assert table.family == 4 and table.source.startswith("MAXMIND:GeoLite2-CountryASN-IPv4-en-")


def test_ipv6_same_answers_as_geoip2fast(built6: AsnTable) -> None:
    table = built6
    rng = random.Random(6)
    unicast = [(0x2000 << 112) + rng.randrange(1 << 125) for _ in range(20000)]  # 2000::/3, where the data is
    anywhere = [rng.randrange((1 << 32) + 1, 1 << 128) for _ in range(2000)]
    # In 2001::/16 and 2a00::/12 the networks are dense: random addresses there hit many different answers.
    dense = [(0x2001 << 112) + rng.randrange(1 << 112) for _ in range(5000)]
    dense += [(0x2A0 << 116) + rng.randrange(1 << 116) for _ in range(5000)]
    edges = [a for a in _edges(table, rng, 20000) if a > 1 << 32]
    addresses = unicast + anywhere + dense + edges + [(1 << 32) + 1, (1 << 128) - 1]
    wrong = _differences(table, "geoip2fast-asn-ipv6.dat.gz", addresses)
    assert not wrong, wrong[:5]
    answers = {table.lookup(a) for a in dense}
    assert len({a.org for a in answers}) > 200 and len({a.country for a in answers}) > 40
    google = table.lookup(int(ipaddress.IPv6Address("2a00:1450:4001:80b::200e")))
    assert google.org == "GOOGLE"
    assert table.family == 6 and table.source.startswith("MAXMIND:GeoLite2-CountryASN-IPv4IPv6-en-")


def test_ipv6_table_has_no_answer_in_ipv4_compatible_space(built6: AsnTable) -> None:
    # geoip2fast sizes networks as IPv4 there; such addresses are reserved and never looked up.
    assert built6.lookup(int(ipaddress.IPv6Address("::808:808"))).org is None
    assert built6.start(0) == 0


def test_second_load_maps_the_cache_file(built: tuple[Path, AsnTable], built6: AsnTable) -> None:
    cache, first = built
    again = load_table(cache)
    assert isinstance(again._buffer, mmap.mmap)
    assert len(again) == len(first) and again.source == first.source
    address = int(ipaddress.IPv4Address("8.8.4.4"))
    assert again.lookup(address) == first.lookup(address)
    again6 = load_table(cache, family=6)
    assert isinstance(again6._buffer, mmap.mmap) and again6.family == 6
    address6 = int(ipaddress.IPv6Address("2606:4700::6810:84e5"))
    assert (
        again6.lookup(address6) == built6.lookup(address6) and again6.lookup(address6).org == "CLOUDFLARENET"
    )
    assert sorted(path.name[:9] for path in cache.glob("asn-*.bin")) == ["asn-ipv4-", "asn-ipv6-"]


def test_damaged_cache_is_rebuilt(built: tuple[Path, AsnTable], tmp_path: Path) -> None:
    _, first = built
    load_table(tmp_path)
    [cached] = tmp_path.glob("asn-ipv4-*.bin")
    cached.write_bytes(b"not a table")
    rebuilt = load_table(tmp_path)
    assert len(rebuilt) == len(first)
    assert cached.read_bytes()[:11] == b"phonewarden"


def test_a_cache_of_the_other_family_is_not_taken(built6: AsnTable, tmp_path: Path) -> None:
    load_table(tmp_path, family=6)
    [cached] = tmp_path.glob("asn-ipv6-*.bin")
    cached.write_bytes(build_table_bytes(data_file(4), 4))  # right format, wrong family
    again = load_table(tmp_path, family=6)
    assert again.family == 6 and len(again) == len(built6)


def test_unwritable_cache_still_answers(built: tuple[Path, AsnTable], tmp_path: Path) -> None:
    _, first = built
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    table = load_table(blocker / "cache")  # cannot be a directory: built in memory
    assert not isinstance(table._buffer, mmap.mmap)
    assert len(table) == len(first)


def test_unknown_family_is_named() -> None:
    with pytest.raises(ValueError, match="family must be 4 or 6, not 5"):
        load_table(family=5)
