"""Webhook against a real HTTP server on 127.0.0.1: the body is signed; a non-2xx answer is a failure."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from phonewarden.alerts.targets.webhook import WebhookTarget, sign
from tests.alerts.peers import Hook, webhook_receiver

ALERT = {"type": "ban", "guard": "shield", "severity": "high", "source": "203.0.113.7"}


@pytest.fixture
def hook() -> Iterator[Hook]:
    yield from webhook_receiver()


def test_posts_signed_json(hook: Hook) -> None:
    WebhookTarget(hook.url, b"a-long-shared-secret").send(ALERT)
    ((body, signature),) = hook.received
    assert json.loads(body) == ALERT and signature == sign(b"a-long-shared-secret", body)
    assert signature != sign(b"another-secret", body)


def test_error_answer_raises_with_the_status(hook: Hook) -> None:
    hook.fail_next = 1
    with pytest.raises(OSError, match="answered HTTP 503"):
        WebhookTarget(hook.url, b"k").send(ALERT)
    assert hook.received == []


def test_nobody_listening_raises() -> None:
    with pytest.raises(OSError, match=r"webhook http://127\.0\.0\.1:9/"):
        WebhookTarget("http://127.0.0.1:9/hook", b"k", timeout=2).send(ALERT)
