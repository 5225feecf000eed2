from __future__ import annotations

from phonewarden.privacy.findings import Destination, Leak
from phonewarden.privacy.report import sentence


def test_sentence_for_a_non_expert() -> None:
    dest = Destination("nokia", "tcp", "202.97.1.10", 80, 0.0, 1.0, host="zzhc.vnet.cn", country="CN")
    leak = Leak(1_764_000_000.0, "nokia", "imei", "base64", "high", dest, "…")
    text = sentence(leak)
    assert text.startswith("Your device nokia sent its IMEI") and "China (zzhc.vnet.cn)" in text
    assert "base64" in text and "2025-11-24" in text
    hashed = sentence(Leak(0.0, "nokia", "imsi", "sha256", "low", dest, "…"))
    assert hashed.startswith("Possibly:") and "SHA256" in hashed
