"""geoip2fast's country/AS-name files as flat, memory-mapped tables (IPv4 and IPv6), so start-up costs ~1 ms.

geoip2fast ships GeoLite2 networks as pickles of Python lists; unpickling one costs 0.1–0.2 s in every
process, about a tenth of a whole `analyze` of 300k packets. The first use of a family derives one sorted
array of range starts, each with the answer geoip2fast's lookup() gives there (its location-based country
and AS name), and writes it to a cache file named after the family, the geoip2fast version and the data
file. Later processes map that file and bisect it in place. Nothing is downloaded: the data is the
installed files, `geoip2fast-asn.dat.gz` (IPv4) and `geoip2fast-asn-ipv6.dat.gz` (IPv6; it repeats the
IPv4 networks, which are answered from the IPv4 file).

Cache directory: $PHONEWARDEN_CACHE_DIR, else $XDG_CACHE_HOME/phonewarden, else ~/.cache/phonewarden.
When it cannot be written the table is built in memory for this process only.
"""

from __future__ import annotations

import gzip
import heapq
import json
import mmap
import os
import pickle
import sys
import tempfile
from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

# The IPv4 layout is unchanged since version 1, so existing cache files stay valid; both have one length.
MAGIC = {4: b"phonewarden asn-ipv4 table 1\n", 6: b"phonewarden asn-ipv6 table 1\n"}
DATA_FILES = {4: "geoip2fast-asn.dat.gz", 6: "geoip2fast-asn-ipv6.dat.gz"}
# geoip2fast reports country indices below 16 as private networks ("--"); its list has 15 reserved
# entries, so index 15 (Andorra) is reported as "--" too. The table repeats that to give the same answers.
_PRIVATE_BELOW = 16
# geoip2fast measures a network by the looked-up address: up to 2**32 as IPv4, above as IPv6. The IPv6
# table therefore answers from 2**32 + 1 on; below (::/96, IPv4-compatible, reserved) it has no answer.
_IPV6_FROM = (1 << 32) + 1
_LOW_64 = (1 << 64) - 1


class AsnTableError(RuntimeError):
    """The installed geoip2fast data is not in the format this table is derived from."""


@dataclass(frozen=True, slots=True)
class Answer:
    country: str | None  # where GeoLite2 locates the address; None: private, reserved or not found
    org: str | None  # the AS name; None when unknown


class AsnTable:
    """Range i starts at start(i) and has countries[country_ids[i]] and org name org_ids[i].

    IPv4 starts are one array of 32-bit integers; IPv6 starts are two arrays of 64-bit halves, bisected
    on the high half and then, among equal high halves, on the low one."""

    def __init__(self, buffer: bytes | mmap.mmap, source: str) -> None:
        self.source = source  # e.g. MAXMIND:GeoLite2-CountryASN-IPv4-en-20240618
        self.family = 6 if buffer[: len(MAGIC[6])] == MAGIC[6] else 4
        self._buffer = buffer  # keeps the mapping open as long as the views below live
        header_end = buffer.find(b"\n", len(MAGIC[4])) + 1
        header = json.loads(bytes(buffer[len(MAGIC[4]) : header_end]))
        self.countries: list[str | None] = [None, *header["countries"]]
        ranges, orgs, blob = header["ranges"], header["orgs"], header["names_bytes"]
        view = memoryview(buffer)
        offset = _aligned(header_end, 8 if self.family == 6 else 4)
        if self.family == 4:
            self._highs = view[offset : offset + 4 * ranges].cast("I")
            self._lows: memoryview | None = None
            offset += 4 * ranges
        else:
            self._highs = view[offset : offset + 8 * ranges].cast("Q")
            self._lows = view[offset + 8 * ranges : offset + 16 * ranges].cast("Q")
            offset += 16 * ranges
        self.org_ids = view[offset : offset + 4 * ranges].cast("I")
        offset += 4 * ranges
        self.name_offsets = view[offset : offset + 4 * (orgs + 1)].cast("I")
        offset += 4 * (orgs + 1)
        self.country_ids = view[offset : offset + ranges]
        offset += ranges
        self.names = view[offset : offset + blob]

    def __len__(self) -> int:
        return len(self.org_ids)

    def start(self, index: int) -> int:
        """The first address of range `index`, as an integer."""
        if self._lows is None:
            return int(self._highs[index])
        return (int(self._highs[index]) << 64) | int(self._lows[index])

    def lookup(self, address: int) -> Answer:
        """The answer for an address of the table's family, given as an integer."""
        if self._lows is None:
            index = bisect_right(self._highs, address) - 1
        else:
            high = address >> 64
            first = bisect_left(self._highs, high)
            last = bisect_right(self._highs, high, first)  # [first, last): the ranges sharing the high half
            index = bisect_right(self._lows, address & _LOW_64, first, last) - 1
        org_id = self.org_ids[index]
        org = None
        if org_id:
            org = bytes(self.names[self.name_offsets[org_id - 1] : self.name_offsets[org_id]]).decode()
        return Answer(self.countries[self.country_ids[index]], org)


def load_table(cache_dir: Path | None = None, family: int = 4) -> AsnTable:
    """The table for the installed geoip2fast data of one family (4 or 6): mapped from the cache, else
    built (and cached)."""
    data = data_file(family)
    stat = data.stat()
    directory = cache_dir or default_cache_dir()
    version = metadata.version("geoip2fast")
    path = directory / f"asn-ipv{family}-{version}-{stat.st_size}-{stat.st_mtime_ns}-{sys.byteorder}.bin"
    magic = MAGIC[family]
    try:
        with path.open("rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if mapped[: len(magic)] == magic:
            header_end = mapped.find(b"\n", len(magic))
            return AsnTable(mapped, json.loads(mapped[len(magic) : header_end])["source"])
    except (OSError, ValueError, KeyError):
        pass  # missing or damaged: built again below
    content = build_table_bytes(data, family)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".asn-", delete=False) as temporary:
            temporary.write(content)
        os.chmod(temporary.name, 0o644)  # a shared cache directory serves every user
        os.replace(temporary.name, path)
    except OSError:
        pass  # a read-only home: this process keeps its own copy
    header_end = content.find(b"\n", len(magic))
    return AsnTable(content, json.loads(content[len(magic) : header_end])["source"])


def default_cache_dir() -> Path:
    if os.environ.get("PHONEWARDEN_CACHE_DIR"):
        return Path(os.environ["PHONEWARDEN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "phonewarden"


def data_file(family: int = 4) -> Path:
    if family not in DATA_FILES:
        raise ValueError(f"address family must be 4 or 6, not {family!r}")
    files = metadata.distribution("geoip2fast").files or []
    found = next((file for file in files if file.name == DATA_FILES[family]), None)
    if found is None:
        raise AsnTableError(f"geoip2fast is installed without {DATA_FILES[family]}")
    return Path(str(found.locate()))


def build_table_bytes(data: Path, family: int = 4) -> bytes:
    """Derive the flat table from geoip2fast's pickled lists (format 120: country and ASN networks)."""
    with gzip.open(data, "rb") as handle:
        version, info, _, database = pickle.load(handle)  # the installed package's own data file
    same_family = bool(info.get("ipv6")) == (family == 6)
    if version != 120 or not (info.get("country") and info.get("asn") and same_family):
        raise AsnTableError(f"{data}: expected geoip2fast IPv{family} country+ASN data (format 120): {info}")
    (index, index_asn, country_names, asn_names, first_ips, first_ips_asn, country_ids, asn_ids,
     netlens, netlens_asn) = database  # fmt: skip
    # For an IPv6 address geoip2fast sizes every network, IPv4 ones included, as 2**(128 - netlen).
    width = 32 if family == 4 else 128
    countries = _networks(data, index, first_ips, netlens, country_ids, width)
    networks_asn = _networks(data, index_asn, first_ips_asn, netlens_asn, asn_ids, width)
    codes = [name.split(":")[0] for name in country_names]
    located = [None if i < _PRIVATE_BELOW or codes[i] in ("", "--") else codes[i] for i in range(len(codes))]
    country_list = sorted({code for code in located if code})
    if len(country_list) > 255:
        raise AsnTableError(f"{data}: {len(country_list)} countries do not fit the table's one-byte index")
    country_id = {code: i + 1 for i, code in enumerate(country_list)}
    country_ids_out = [country_id[code] if code else 0 for code in located]

    segments = _segments(countries, networks_asn, 1 << width)
    if family == 6:
        at_floor = [segment for segment in segments if segment[0] <= _IPV6_FROM][-1]
        segments = [(0, -1, -1), (_IPV6_FROM, *at_floor[1:])] + [s for s in segments if s[0] > _IPV6_FROM]
    starts: list[int] = []
    orgs, places = array("I"), bytearray()
    previous: tuple[int, int] | None = None
    for start, country_slot, asn_slot in segments:
        # Outside every country network geoip2fast answers "not found" and looks no AS name up.
        country = country_ids_out[country_slot] if country_slot >= 0 else 0
        org = asn_slot + 1 if country_slot >= 0 and asn_slot >= 0 and asn_names[asn_slot] else 0
        if (country, org) != previous:
            starts.append(start)
            orgs.append(org)
            places.append(country)
            previous = (country, org)
    name_offsets, blob = array("I", [0]), bytearray()
    for name in asn_names:
        blob += name.encode()
        name_offsets.append(len(blob))
    header = {"source": info["info"], "countries": country_list, "ranges": len(starts),
              "orgs": len(asn_names), "names_bytes": len(blob)}  # fmt: skip
    out = bytearray(MAGIC[family] + json.dumps(header).encode() + b"\n")
    out += bytes(_aligned(len(out), 8 if family == 6 else 4) - len(out))
    if family == 4:
        out += array("I", starts).tobytes()
    else:
        out += array("Q", [start >> 64 for start in starts]).tobytes()
        out += array("Q", [start & _LOW_64 for start in starts]).tobytes()
    for part in (orgs, name_offsets):
        out += part.tobytes()
    out += places + blob
    return bytes(out)


def _networks(
    data: Path,
    index: list[int],
    firsts: list[list[int]],
    netlens: list[list[int]],
    ids: list[list[int]],
    width: int,
) -> list[tuple[int, int, int]]:
    """(first, last, id) of each network, in order. geoip2fast bisects its chunk index, then the chunk:
    the same as one bisect over all networks when each chunk starts at its index entry (checked)."""
    flat: list[tuple[int, int, int]] = []
    for root, chunk in enumerate(firsts):
        if not chunk or chunk[0] != index[root]:
            raise AsnTableError(f"{data}: chunk {root} does not start at its index entry")
        for first, netlen, slot in zip(chunk, netlens[root], ids[root], strict=True):
            if flat and first <= flat[-1][0]:
                raise AsnTableError(f"{data}: networks out of order at {first}")
            flat.append((first, first + (1 << (width - netlen)) - 1, slot))
    if not flat or flat[0][0] != 0:
        raise AsnTableError(f"{data}: the networks do not start at address 0")
    return flat


def _pieces(networks: list[tuple[int, int, int]], end: int) -> list[tuple[int, int]]:
    """(start, id or -1) where a bisecting lookup's answer can change: a network answers from its first
    address up to the next network's first, or only to its own end when that comes sooner (then -1)."""
    out = []
    for position, (first, last, slot) in enumerate(networks):
        out.append((first, slot))
        following = networks[position + 1][0] if position + 1 < len(networks) else end
        if last + 1 < following:
            out.append((last + 1, -1))
    return out


def _segments(
    countries: list[tuple[int, int, int]], asns: list[tuple[int, int, int]], end: int
) -> list[tuple[int, int, int]]:
    """(start, country id or -1, asn id or -1) at every address where either answer can change."""
    events = heapq.merge(
        ((start, 0, slot) for start, slot in _pieces(countries, end)),
        ((start, 1, slot) for start, slot in _pieces(asns, end)),
    )
    out: list[tuple[int, int, int]] = []
    current = [-1, -1]
    for start, kind, slot in events:
        current[kind] = slot
        if out and out[-1][0] == start:
            out[-1] = (start, current[0], current[1])
        else:
            out.append((start, current[0], current[1]))
    return out


def _aligned(offset: int, alignment: int = 4) -> int:
    return (offset + alignment - 1) & ~(alignment - 1)
