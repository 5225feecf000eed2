"""Live mode inside `phonewarden serve`: frames from live capture feed the engine; records from the HEP
listener carry no device traffic worth scanning (SIP signalling only) and are ignored here.

`on_record` accepts a `Frame` (from live capture) and anything else is skipped; `snapshot()` gives the
current analysis (destinations, leaks, verdicts) for the API and console.
"""

from __future__ import annotations

from typing import Any

from phonewarden.core.records import Frame
from phonewarden.privacy.engine import PrivacyEngine
from phonewarden.privacy.inventory import load_inventory
from phonewarden.privacy.policy import parse_policy
from phonewarden.privacy.service import Analysis, finish


class LivePrivacy:
    def __init__(self, settings: Any) -> None:
        section = settings.privacy
        devices = load_inventory(section.devices_file) if section.devices_file else []
        self.policies = [parse_policy(text) for text in section.policies]
        self.engine = PrivacyEngine(devices, max_flows=section.max_flows)
        self.frames = 0

    def on_record(self, record: Any) -> None:
        if isinstance(record, Frame):
            self.engine.feed(record)
            self.frames += 1

    def snapshot(self) -> Analysis:
        return finish(self.engine, self.frames, self.policies, None)

    async def stop(self) -> None:
        return None


def start(settings: Any, engine: Any) -> LivePrivacy:
    return LivePrivacy(settings)
