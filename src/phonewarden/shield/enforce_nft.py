"""nftables back-end: bans are elements with a timeout in sets of one `inet` table.

The drop rules sit in a prerouting chain at priority raw (-300), before conntrack (-200): a UDP scanner that
keeps its source port is cut off at once instead of riding an "established" flow (fail2ban #2503, #2948).
Everything goes through `nft -j -f -` as one JSON batch (atomic), argv only, never a shell.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from typing import Any

from phonewarden.shield.enforce import (
    BanTarget,
    EnforcementError,
    check_duration,
    clean_reason,
    parse_target,
)

# set name -> (address type, match protocol, holds networks)
SETS: dict[str, tuple[str, str, bool]] = {
    "ban4": ("ipv4_addr", "ip", False),
    "ban4_nets": ("ipv4_addr", "ip", True),
    "ban6": ("ipv6_addr", "ip6", False),
    "ban6_nets": ("ipv6_addr", "ip6", True),
}
CHAIN = "prerouting"
RAW_PRIORITY = -300
NFT_TIMEOUT_S = 10.0


def set_for(target: BanTarget) -> str:
    nets = isinstance(target, ipaddress.IPv4Network | ipaddress.IPv6Network)
    return f"ban{target.version}{'_nets' if nets else ''}"


def element_value(target: BanTarget) -> Any:
    if isinstance(target, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return {"prefix": {"addr": str(target.network_address), "len": target.prefixlen}}
    return str(target)


def element_key(value: Any) -> str:
    """Canonical text of an element as `nft -j` lists it (address, prefix or range)."""
    if isinstance(value, str):
        return str(ipaddress.ip_address(value))
    if isinstance(value, dict) and "prefix" in value:
        prefix = value["prefix"]
        return str(ipaddress.ip_network(f"{prefix['addr']}/{prefix['len']}"))
    if isinstance(value, dict) and "range" in value:
        low, high = value["range"]
        networks = list(
            ipaddress.summarize_address_range(ipaddress.ip_address(low), ipaddress.ip_address(high))
        )
        return ",".join(str(network) for network in networks)
    raise EnforcementError(f"nftables: unexpected set element {value!r}")


class NftEnforcer:
    name = "nftables"

    def __init__(self, table: str = "phonewarden", netns: str | None = None, nft: str = "nft") -> None:
        if not table.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"shield.nft_table {table!r}: use letters, digits, '_' or '-' only")
        self.table = table
        self.netns = netns
        self.nft = nft

    # -- commands ---------------------------------------------------------------------------------
    def _argv(self, *args: str) -> list[str]:
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        return [*prefix, self.nft, "-j", *args]

    def _run(self, what: str, args: list[str], batch: list[dict[str, Any]] | None = None) -> str:
        tool = "ip" if self.netns else self.nft
        if shutil.which(tool) is None:
            package = "iproute2" if self.netns else "nftables"
            raise EnforcementError(f"nftables: {tool!r} not found; install the Debian package {package}")
        stdin = json.dumps({"nftables": batch}) if batch is not None else None
        try:
            done = subprocess.run(
                self._argv(*args),
                input=stdin,
                capture_output=True,
                text=True,
                timeout=NFT_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise EnforcementError(f"nftables: {what} timed out after {NFT_TIMEOUT_S} s") from None
        if done.returncode != 0:
            where = f" in netns {self.netns}" if self.netns else ""
            raise EnforcementError(
                f"nftables: {what} in table inet {self.table}{where} failed: {done.stderr.strip()}"
            )
        return done.stdout

    def _apply(self, what: str, batch: list[dict[str, Any]]) -> None:
        self._run(what, ["-f", "-"], batch)

    def _element(self, op: str, target: BanTarget, elem: Any) -> dict[str, Any]:
        return {
            op: {"element": {"family": "inet", "table": self.table, "name": set_for(target), "elem": [elem]}}
        }

    # -- Enforcer ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Create table, sets and chain if missing; rewrite the chain's rules; keep existing bans."""
        ref = {"family": "inet", "table": self.table}
        batch: list[dict[str, Any]] = [{"add": {"table": {"family": "inet", "name": self.table}}}]
        for name, (kind, _, nets) in SETS.items():
            flags = ["interval", "timeout"] if nets else ["timeout"]
            batch.append({"add": {"set": {**ref, "name": name, "type": kind, "flags": flags}}})
        chain = {
            **ref,
            "name": CHAIN,
            "type": "filter",
            "hook": "prerouting",
            "prio": RAW_PRIORITY,
            "policy": "accept",
        }
        batch += [{"add": {"chain": chain}}, {"flush": {"chain": {**ref, "name": CHAIN}}}]
        for name, (_, protocol, _) in SETS.items():
            match = {
                "op": "==",
                "left": {"payload": {"protocol": protocol, "field": "saddr"}},
                "right": f"@{name}",
            }
            expr = [{"match": match}, {"counter": None}, {"drop": None}]
            batch.append(
                {"add": {"rule": {**ref, "chain": CHAIN, "expr": expr, "comment": "phonewarden shield"}}}
            )
        self._apply("start", batch)

    def ban(self, address: str, duration_s: int, reason: str) -> None:
        """Add or refresh: add, delete, add in one transaction resets the timeout of an existing ban."""
        target, duration = parse_target(address), check_duration(duration_s)
        value = element_value(target)
        fresh = {"elem": {"val": value, "timeout": duration, "comment": clean_reason(reason)}}
        batch = [
            self._element("add", target, {"elem": {"val": value, "timeout": duration}}),
            self._element("delete", target, value),
            self._element("add", target, fresh),
        ]
        self._apply(f"ban {target}", batch)

    def unban(self, address: str) -> None:
        target = parse_target(address)
        try:
            self._apply(f"unban {target}", [self._element("delete", target, element_value(target))])
        except EnforcementError:
            if str(target) in self.active():
                raise  # it is there and could not be removed

    def active(self) -> dict[str, float]:
        listing = json.loads(self._run("list", ["list", "table", "inet", self.table]))
        bans: dict[str, float] = {}
        for item in listing.get("nftables", []):
            nft_set = item.get("set")
            if not nft_set or nft_set.get("name") not in SETS:
                continue
            for elem in nft_set.get("elem", []):
                body = elem.get("elem", {}) if isinstance(elem, dict) and "elem" in elem else {"val": elem}
                bans[element_key(body["val"])] = float(body.get("expires", body.get("timeout", 0)))
        return bans

    def dropped_packets(self) -> int:
        """Packets the ban rules have dropped since start (for status pages and tests)."""
        listing = json.loads(self._run("list", ["list", "chain", "inet", self.table, CHAIN]))
        total = 0
        for item in listing.get("nftables", []):
            for expr in item.get("rule", {}).get("expr", []):
                if isinstance(expr, dict) and isinstance(expr.get("counter"), dict):
                    total += int(expr["counter"].get("packets", 0))
        return total

    def stop(self) -> None:
        """Leave table and bans: each element's timeout ends its ban, so stopping (or restarting) the
        shield opens the door to no one; the next start() keeps them."""

    def remove(self) -> None:
        """Remove the whole table with every ban (add-then-delete so a missing table is no error)."""
        table = {"table": {"family": "inet", "name": self.table}}
        self._apply("remove", [{"add": table}, {"delete": table}])
