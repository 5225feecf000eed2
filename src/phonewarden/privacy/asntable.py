"""geoip2fast's IPv4 country/AS-name file as one flat, memory-mapped table, so start-up costs ~1 ms.

geoip2fast ships GeoLite2 networks as a pickle of Python lists; unpickling it costs 0.1–0.15 s in every
process, about a tenth of a whole `analyze` of 300k packets. The first use derives one sorted array of
range starts, each with the answer geoip2fast's lookup() gives there (its location-based country and
AS name), and writes it to a cache file named after the geoip2fast version and data file. Later
processes map that file and bisect it in place. Nothing is downloaded: the data is the installed file.

Cache directory: $PHONEWARDEN_CACHE_DIR, else $XDG_CACHE_HOME/phonewarden, else ~/.cache/phonewarden.
When it cannot be written the table is built in memory for this process only.
"""

from __future__ import annotations

import gzip
import json
import mmap
import os
import pickle
import sys
import tempfile
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

MAGIC = b"phonewarden asn-ipv4 table 1\n"
DATA_FILE = "geoip2fast-asn.dat.gz"
# geoip2fast reports country indices below 16 as private networks ("--"); its list has 15 reserved
# entries, so index 15 (Andorra) is reported as "--" too. The table repeats that to give the same answers.
_PRIVATE_BELOW = 16


class AsnTableError(RuntimeError):
    """The installed geoip2fast data is not in the format this table is derived from."""


@dataclass(frozen=True, slots=True)
class Answer:
    country: str | None  # where GeoLite2 locates the address; None: private, reserved or not found
    org: str | None  # the AS name; None when unknown


class AsnTable:
    """starts[i] <= address < starts[i + 1] has countries[country_ids[i]] and org name org_ids[i]."""

    def __init__(self, buffer: bytes | mmap.mmap, source: str) -> None:
        self.source = source  # e.g. MAXMIND:GeoLite2-CountryASN-IPv4-en-20240618
        self._buffer = buffer  # keeps the mapping open as long as the views below live
        header_end = buffer.find(b"\n", len(MAGIC)) + 1
        header = json.loads(bytes(buffer[len(MAGIC) : header_end]))
        self.countries: list[str | None] = [None, *header["countries"]]
        ranges, orgs, blob = header["ranges"], header["orgs"], header["names_bytes"]
        view = memoryview(buffer)
        offset = _aligned(header_end)
        self.starts = view[offset : offset + 4 * ranges].cast("I")
        offset += 4 * ranges
        self.org_ids = view[offset : offset + 4 * ranges].cast("I")
        offset += 4 * ranges
        self.name_offsets = view[offset : offset + 4 * (orgs + 1)].cast("I")
        offset += 4 * (orgs + 1)
        self.country_ids = view[offset : offset + ranges]
        offset += ranges
        self.names = view[offset : offset + blob]

    def __len__(self) -> int:
        return len(self.starts)

    def lookup(self, address: int) -> Answer:
        """The answer for an IPv4 address given as an integer."""
        index = bisect_right(self.starts, address) - 1
        org_id = self.org_ids[index]
        org = None
        if org_id:
            org = bytes(self.names[self.name_offsets[org_id - 1] : self.name_offsets[org_id]]).decode()
        return Answer(self.countries[self.country_ids[index]], org)


def load_table(cache_dir: Path | None = None) -> AsnTable:
    """The table for the installed geoip2fast data: mapped from the cache, else built (and cached)."""
    data = data_file()
    stat = data.stat()
    directory = cache_dir or default_cache_dir()
    name = f"asn-ipv4-{metadata.version('geoip2fast')}-{stat.st_size}-{stat.st_mtime_ns}-{sys.byteorder}.bin"
    path = directory / name
    try:
        with path.open("rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if mapped[: len(MAGIC)] == MAGIC:
            header_end = mapped.find(b"\n", len(MAGIC))
            return AsnTable(mapped, json.loads(mapped[len(MAGIC) : header_end])["source"])
    except (OSError, ValueError, KeyError):
        pass  # missing or damaged: built again below
    content = build_table_bytes(data)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".asn-", delete=False) as temporary:
            temporary.write(content)
        os.chmod(temporary.name, 0o644)  # a shared cache directory serves every user
        os.replace(temporary.name, path)
    except OSError:
        pass  # a read-only home: this process keeps its own copy
    header_end = content.find(b"\n", len(MAGIC))
    return AsnTable(content, json.loads(content[len(MAGIC) : header_end])["source"])


def default_cache_dir() -> Path:
    if os.environ.get("PHONEWARDEN_CACHE_DIR"):
        return Path(os.environ["PHONEWARDEN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "phonewarden"


def data_file() -> Path:
    files = metadata.distribution("geoip2fast").files or []
    found = next((file for file in files if file.name == DATA_FILE), None)
    if found is None:
        raise AsnTableError(f"geoip2fast is installed without {DATA_FILE}")
    return Path(str(found.locate()))


def build_table_bytes(data: Path) -> bytes:
    """Derive the flat table from geoip2fast's pickled lists (format 120: country and ASN networks)."""
    with gzip.open(data, "rb") as handle:
        version, info, _, database = pickle.load(handle)  # the installed package's own data file
    if version != 120 or not (info.get("country") and info.get("asn")) or info.get("ipv6"):
        raise AsnTableError(f"{data}: expected geoip2fast IPv4 country+ASN data (format 120), got {info}")
    (index, index_asn, country_names, asn_names, first_ips, first_ips_asn, country_ids, asn_ids,
     netlens, netlens_asn) = database  # fmt: skip
    countries = _networks(data, index, first_ips, netlens, country_ids)
    networks_asn = _networks(data, index_asn, first_ips_asn, netlens_asn, asn_ids)
    codes = [name.split(":")[0] for name in country_names]
    located = [None if i < _PRIVATE_BELOW or codes[i] in ("", "--") else codes[i] for i in range(len(codes))]
    country_list = sorted({code for code in located if code})
    if len(country_list) > 255:
        raise AsnTableError(f"{data}: {len(country_list)} countries do not fit the table's one-byte index")
    country_id = {code: i + 1 for i, code in enumerate(country_list)}
    country_ids_out = [country_id[code] if code else 0 for code in located]

    starts, orgs, places = array("I"), array("I"), bytearray()
    previous: tuple[int, int] | None = None
    for start, country_slot, asn_slot in _segments(countries, networks_asn):
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
    out = bytearray(MAGIC + json.dumps(header).encode() + b"\n")
    out += bytes(_aligned(len(out)) - len(out))
    for part in (starts, orgs, name_offsets):
        out += part.tobytes()
    out += places + blob
    return bytes(out)


def _networks(
    data: Path, index: list[int], firsts: list[list[int]], netlens: list[list[int]], ids: list[list[int]]
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
            flat.append((first, first + (1 << (32 - netlen)) - 1, slot))
    if not flat or flat[0][0] != 0:
        raise AsnTableError(f"{data}: the networks do not start at 0.0.0.0")
    return flat


def _segments(
    countries: list[tuple[int, int, int]], asns: list[tuple[int, int, int]]
) -> list[tuple[int, int, int]]:
    """(start, country id or -1, asn id or -1) at every address where either answer can change."""
    bounds = sorted({b for first, last, _ in countries + asns for b in (first, last + 1) if b <= 0xFFFFFFFF})
    out, c, a = [], 0, 0
    for start in bounds:
        while c + 1 < len(countries) and countries[c + 1][0] <= start:
            c += 1
        while a + 1 < len(asns) and asns[a + 1][0] <= start:
            a += 1
        country = countries[c][2] if start <= countries[c][1] else -1
        asn = asns[a][2] if start <= asns[a][1] else -1
        out.append((start, country, asn))
    return out


def _aligned(offset: int) -> int:
    return (offset + 3) & ~3
