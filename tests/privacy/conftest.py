from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "privacy"
CAPTURE = DATA / "activation.pcap"


@pytest.fixture
def capture() -> Path:
    return CAPTURE


@pytest.fixture
def devices_file() -> Path:
    return CAPTURE.with_suffix(".devices.json")


@pytest.fixture
def planted() -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = json.loads(CAPTURE.with_suffix(".expected.json").read_text())
    return result
