"""Push SIP credentials to Kamailio (jsonrpcs over HTTP, an htable user -> password that the registrar's
pv_www_authenticate reads), so a rotated password takes effect at the registrar the moment it is made.
"""

from __future__ import annotations

import json
import urllib.request
from itertools import count

_ids = count(1)


class KamailioError(RuntimeError):
    """Kamailio did not take the change; names the URL, the method and the answer."""


class KamailioCredentials:
    def __init__(self, rpc_url: str, htable: str = "pw", timeout: float = 5.0) -> None:
        if not rpc_url.startswith(("http://127.", "http://[::1]", "http://localhost", "https://")):
            raise ValueError(f"kamailio_rpc_url {rpc_url!r}: use https:// or a loopback http:// URL")
        self.rpc_url = rpc_url
        self.htable = htable
        self.timeout = timeout

    def set(self, username: str, password: str) -> None:
        self._call("htable.sets", [self.htable, username, password])

    def delete(self, username: str) -> None:
        self._call("htable.delete", [self.htable, username])

    def _call(self, method: str, params: list[str]) -> None:
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": next(_ids)}).encode()
        request = urllib.request.Request(self.rpc_url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read() or b"{}")
        except (OSError, ValueError) as exc:
            raise KamailioError(f"kamailio {self.rpc_url} {method}: {exc}") from None
        if "error" in answer:
            raise KamailioError(f"kamailio {self.rpc_url} {method}: {answer['error']}")
