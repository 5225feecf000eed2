"""Kamailio back-end: bans are htable items with their own expiry, set over JSON-RPC (jsonrpcs + xhttp).

Exact addresses go to the table `htable` (looked up by `$si` in one step); networks (IPv4 CIDRs, IPv6 /64)
go to `<htable>net`, which the Kamailio config walks with `is_in_subnet`. Each value is
"<expiry epoch> <reason>", so `active()` can say how long a ban has left and an operator dumping the
table sees why (kamailio #2719).
The config snippet that drops banned sources is in docs/shield-enforcement.md.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from phonewarden.shield.enforce import (
    BanTarget,
    EnforcementError,
    check_duration,
    clean_reason,
    parse_target,
)

NOT_FOUND = 404


class KamailioEnforcer:
    name = "kamailio"

    def __init__(
        self,
        rpc_url: str = "http://127.0.0.1:5071/RPC",
        htable: str = "ipban",
        timeout_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not rpc_url.startswith(("http://", "https://")):
            raise ValueError(f"shield.kamailio_rpc_url {rpc_url!r}: must be an http:// or https:// URL")
        if not htable.replace("_", "").isalnum():
            raise ValueError(f"shield.kamailio_htable {htable!r}: use letters, digits or '_' only")
        self.rpc_url, self.htable, self.timeout_s, self.clock = rpc_url, htable, timeout_s, clock
        self._ids = itertools.count(1)

    @property
    def net_table(self) -> str:
        return f"{self.htable}net"

    def table_for(self, target: BanTarget) -> str:
        return (
            self.net_table
            if isinstance(target, ipaddress.IPv4Network | ipaddress.IPv6Network)
            else self.htable
        )

    def call(self, method: str, *params: Any) -> Any:
        """One JSON-RPC 2.0 call; errors name the method, the URL and Kamailio's message."""
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": next(self._ids)})
        request = urllib.request.Request(
            self.rpc_url, data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as error:  # jsonrpcs over HTTP also puts its errors in the status
            answer = rpc_error_body(error)
            if answer is None:
                raise EnforcementError(f"kamailio: {method} at {self.rpc_url} failed: {error}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise EnforcementError(f"kamailio: {method} at {self.rpc_url} failed: {error}") from None
        if "error" in answer:
            failure = answer["error"]
            raise KamailioRpcError(
                method, self.rpc_url, int(failure.get("code", 0)), str(failure.get("message"))
            )
        return answer.get("result")

    # -- Enforcer ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Check that Kamailio answers and has both ban tables (created by its config)."""
        tables = {item.get("name") for item in self.call("htable.stats") or []}
        missing = [table for table in (self.htable, self.net_table) if table not in tables]
        if missing:
            raise EnforcementError(
                f"kamailio at {self.rpc_url} has no htable {missing}: add the shield snippet from "
                "docs/shield-enforcement.md to kamailio.cfg"
            )

    def ban(self, address: str, duration_s: int, reason: str) -> None:
        target, duration = parse_target(address), check_duration(duration_s)
        value = f"{int(self.clock()) + duration} {clean_reason(reason)}"
        self.call("htable.setxs", self.table_for(target), str(target), value, duration)

    def unban(self, address: str) -> None:
        target = parse_target(address)
        try:
            self.call("htable.delete", self.table_for(target), str(target))
        except KamailioRpcError as error:
            if error.code != NOT_FOUND:
                raise

    def active(self) -> dict[str, float]:
        now, bans = self.clock(), {}
        for table in (self.htable, self.net_table):
            for entry in self.call("htable.dump", table) or []:
                for item in entry.get("slot", []):
                    left = seconds_left(item.get("value"), now)
                    if left is not None and left > 0:
                        bans[str(item["name"])] = left
        return bans

    def stop(self) -> None:
        """Leave the tables as they are: item expiry ends the bans, and a restart re-applies them."""

    def remove(self) -> None:
        """Empty both ban tables (they belong to the shield; the config snippet that declares them stays)."""
        for table in (self.htable, self.net_table):
            self.call("htable.flush", table)


class KamailioRpcError(EnforcementError):
    def __init__(self, method: str, url: str, code: int, message: str) -> None:
        super().__init__(f"kamailio: {method} at {url} answered error {code}: {message}")
        self.code = code


def rpc_error_body(error: urllib.error.HTTPError) -> dict[str, Any] | None:
    try:
        answer = json.loads(error.read())
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) and "error" in answer else None


def seconds_left(value: Any, now: float) -> float | None:
    """From a ban value "<expiry epoch> <reason>"; None for items not written by phonewarden."""
    head = str(value).split(" ", 1)[0]
    return float(head) - now if head.isdigit() else None
