from __future__ import annotations

from phonewarden.privacy.findings import Destination, redacted_excerpt


def test_excerpt_masks_the_identifier() -> None:
    text = redacted_excerpt(b"POST x\r\nimei=352099001761481&y=1", 13, 28)
    assert "352099001761481" not in text and "[35…81]" in text and ".." in text


def test_unknown_fields_left_out() -> None:
    record = Destination("p", "udp", "9.9.9.9", 53, 0.0, 1.0).to_json()
    assert "host" not in record and record["type"] == "destination" and record["time"].endswith("Z")
