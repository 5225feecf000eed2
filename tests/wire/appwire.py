"""Shared by the DNS/TLS/HTTP tests: the recorded inputs and the small pcap writer beside them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

DATA = Path(__file__).resolve().parents[1] / "data" / "appwire"


def load_pcapfile() -> ModuleType:
    """tests/data/appwire/pcapfile.py: writes Ethernet/IPv4 frames to a classic pcap for tshark checks."""
    spec = importlib.util.spec_from_file_location("appwire_pcapfile", DATA / "pcapfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
