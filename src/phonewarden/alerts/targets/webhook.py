"""Webhook: the alert as a JSON POST; the receiver checks `X-Phonewarden-Signature: sha256=<hex>`, the
HMAC-SHA256 of the exact body under the shared secret. Any answer but 2xx is a failed delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

SIGNATURE_HEADER = "X-Phonewarden-Signature"


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass
class WebhookTarget:
    url: str
    secret: bytes
    timeout: float = 10.0
    name: str = "webhook"

    def send(self, alert: dict[str, Any]) -> None:
        body = json.dumps(alert, sort_keys=True).encode()
        headers = {"content-type": "application/json", SIGNATURE_HEADER: sign(self.secret, body)}
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:  # 4xx/5xx: say which, the operator sees it on the outbox page
            raise OSError(f"webhook {self.url} answered HTTP {exc.code}") from exc
        except urllib.error.URLError as exc:
            raise OSError(f"webhook {self.url}: {exc.reason}") from exc
        if not 200 <= status < 300:
            raise OSError(f"webhook {self.url} answered HTTP {status}")
