"""The fetch hot path: one light row read per fetch, decrypted configs cached, fetch counts batched.

- `view`: the gate's view of a device in one Core query (device + site row, no ORM, no decryption), so a
  change made by the CLI or the console (retire, window, site rules) takes effect on the next fetch.
- Secrets are decrypted and configs rendered once per (device row, config_version, wipe): every change
  to a device's secrets bumps config_version, so a cached entry can never serve a rotated password.
- Successful fetches are counted in memory and written every `flush_s` (one UPDATE per device), so a
  fetch costs no database write. The gate counts stored + pending fetches; counts are exact within this
  process (one device-plane process per database); `flush_s = 0` writes every fetch atomically instead.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine, select, update

from phonewarden.audit.policy import Vendor
from phonewarden.provisioning import gate, render
from phonewarden.provisioning.inventory import Inventory
from phonewarden.provisioning.models import ProvDevice, ProvSite
from phonewarden.provisioning.secrets_box import Secret

CACHE_SIZE = 4096
_K = TypeVar("_K")
_V = TypeVar("_V")

_D, _S = ProvDevice.__table__.c, ProvSite.__table__.c  # table columns: no ORM annotations to adapt
_VIEW = select(
    _D.id, _D.mac, _D.vendor, _D.model, _D.state, _D.window_from, _D.window_until, _D.fetches,
    _D.wipe_pending, _D.config_version, _D.approved_version, _S.networks, _S.max_fetches,
    _S.require_user_agent, _S.require_client_cert, _S.require_digest, _S.require_consent,
).select_from(ProvDevice.__table__.join(ProvSite.__table__, _S.id == _D.site_id))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Secrets:
    target: render.Target
    digest: Secret


class HotPath:
    def __init__(self, inventory: Inventory, flush_s: float = 0.5, cache_size: int = CACHE_SIZE) -> None:
        self.inventory = inventory
        self.engine: Engine = inventory.engine
        self.flush_s = flush_s
        self.cache_size = cache_size
        self._secrets: OrderedDict[tuple[int, int], Secrets] = OrderedDict()
        self._bodies: OrderedDict[tuple[int, int, bool], str] = OrderedDict()
        # row id -> (the window the fetches were made in, count): a window reopened meanwhile drops them
        self._pending: dict[int, tuple[datetime | None, int]] = {}
        self._windows: dict[int, datetime | None] = {}  # the window each device was last seen in
        self._flushed = time.monotonic()
        self._lock = threading.Lock()

    def view(self, mac: str) -> tuple[int, gate.Device] | None:
        """The device row id and the gate's view (stored + pending fetches); None for an unknown MAC."""
        with self.engine.connect() as connection:
            row = connection.execute(_VIEW.where(_D.mac == mac)).one_or_none()
        if row is None:
            return None
        rules = gate.Rules(tuple(row.networks), row.max_fetches, row.require_user_agent,
                           row.require_client_cert, row.require_digest, row.require_consent)  # fmt: skip
        with self._lock:
            self._windows[row.id] = row.window_from
            window, pending = self._pending.get(row.id, (row.window_from, 0))
            fetches = row.fetches + (pending if window == row.window_from else 0)
        device = gate.Device(
            row.mac, Vendor(row.vendor), row.model, row.state,
            row.window_from.timestamp() if row.window_from is not None else None,
            row.window_until.timestamp() if row.window_until is not None else None,
            fetches, row.wipe_pending, row.config_version, row.approved_version, rules,
        )  # fmt: skip
        return row.id, device

    def secrets(self, row_id: int, device: gate.Device) -> Secrets:
        key = (row_id, device.config_version)
        cached = self._secrets.get(key)
        if cached is None:
            found = self.inventory.for_gate(device.mac)
            if found is None:  # deleted between the two reads: nothing to serve
                raise LookupError(device.mac)
            cached = Secrets(found[1], found[2])
            _put(self._secrets, key, cached, self.cache_size)
        return cached

    def body(self, row_id: int, device: gate.Device, wipe: bool) -> str:
        key = (row_id, device.config_version, wipe)
        text = self._bodies.get(key)
        if text is None:
            text = render.render_device(self.secrets(row_id, device).target, wipe=wipe)
            _put(self._bodies, key, text, self.cache_size)
        return text

    def count(self, row_id: int, device: gate.Device, wipe: bool) -> bool:
        """Count a delivery; False when the last allowed one is gone (wipes are written at once)."""
        if wipe or self.flush_s <= 0:
            return self.inventory.record_fetch(device.mac, wipe, device.rules.max_fetches)
        with self._lock:
            window = self._windows.get(row_id)
            seen, pending = self._pending.get(row_id, (window, 0))
            self._pending[row_id] = (window, pending + 1 if seen == window else 1)
        if time.monotonic() - self._flushed >= self.flush_s:
            self.flush()
        return True

    def flush(self) -> None:
        """Write pending fetch counts (also at shutdown)."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._flushed = time.monotonic()
        if not pending:
            return
        with self.engine.begin() as connection:
            for row_id, (window, count) in pending.items():
                column = ProvDevice.window_from
                same_window = column.is_(None) if window is None else column == window
                connection.execute(
                    update(ProvDevice)
                    .where(ProvDevice.id == row_id, same_window)
                    .values(fetches=ProvDevice.fetches + count)
                )


def _put(cache: OrderedDict[_K, _V], key: _K, value: _V, size: int) -> None:
    cache[key] = value
    if len(cache) > size:
        cache.popitem(last=False)
