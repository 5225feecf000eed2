"""The inventory and its lifecycle: sites, devices, SIP lines; every change audited in `prov_events`.

Passwords are generated here and only ever stored sealed (SecretBox). Retire and reassign rotate every
secret of the device (the old SIP password stops working at the registrar when Kamailio push is on),
close the enrollment window and make the next fetch a wipe config. Changes bump `config_version`; a site
that requires consent serves them only after `approve`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, selectinload

from phonewarden.audit.policy import Vendor
from phonewarden.provisioning import gate, render
from phonewarden.provisioning.identify import normalize_mac
from phonewarden.provisioning.kamailio import KamailioCredentials
from phonewarden.provisioning.models import ProvAccount, ProvDevice, ProvEvent, ProvSite
from phonewarden.provisioning.secrets_box import Secret, SecretBox, generate_password, generate_pin
from phonewarden.provisioning.settings import ProvisioningSettings, check_network
from phonewarden.store.engine import session_factory

SITE_RULES = (
    "networks",
    "window_hours",
    "max_fetches",
    "require_user_agent",
    "require_client_cert",
    "require_digest",
    "require_consent",
)


class InventoryError(Exception):
    """An inventory request that cannot be done; the message names the device/site and why."""


def _now() -> datetime:
    return datetime.now(UTC)


class Inventory:
    def __init__(
        self,
        engine: Engine,
        box: SecretBox,
        settings: ProvisioningSettings,
        pbx: KamailioCredentials | None = None,
    ) -> None:
        self.engine = engine
        self.box = box
        self.settings = settings
        self.pbx = pbx
        self._sessions = session_factory(engine)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def _password(self) -> str:
        return self.box.seal(generate_password(self.settings.password_length))

    # --- sites --------------------------------------------------------------------------------------

    def add_site(self, name: str, **rules: Any) -> dict[str, Any]:
        values = {**self.settings.gate.model_dump(), **{k: v for k, v in rules.items() if v is not None}}
        _check_rules(values)
        with self._session() as session:
            if session.scalar(select(ProvSite).where(ProvSite.name == name)) is not None:
                raise InventoryError(f"site {name!r} exists already")
            site = ProvSite(name=name, **{k: values[k] for k in SITE_RULES})
            session.add(site)
            session.add(ProvEvent(time=_now(), action="site-add", reason=name, detail=_site_json(site)))
            session.flush()
            return _site_json(site)

    def set_site(self, name: str, **rules: Any) -> dict[str, Any]:
        changes = {k: v for k, v in rules.items() if v is not None}
        _check_rules(changes)
        with self._session() as session:
            site = self._site(session, name)
            for key, value in changes.items():
                setattr(site, key, value)
            session.add(ProvEvent(time=_now(), action="site-set", reason=name, detail=changes))
            return _site_json(site)

    def sites(self) -> list[dict[str, Any]]:
        with self._session() as session:
            return [_site_json(s) for s in session.scalars(select(ProvSite).order_by(ProvSite.name))]

    @staticmethod
    def _site(session: Session, name: str) -> ProvSite:
        site = session.scalar(select(ProvSite).where(ProvSite.name == name))
        if site is None:
            raise InventoryError(f"no site {name!r}: add it with `phonewarden provision site add {name}`")
        return site

    # --- devices ------------------------------------------------------------------------------------

    def add_device(
        self, mac: str, vendor: str, model: str, site: str, owner: str, lines: Sequence[tuple[str, str]]
    ) -> dict[str, Any]:
        mac = normalize_mac(mac)
        try:
            chosen = Vendor(vendor.lower())
        except ValueError:
            raise InventoryError(
                f"vendor {vendor!r}: rendered vendors are yealink, snom, grandstream"
            ) from None
        if chosen not in render.RENDERED_VENDORS:
            raise InventoryError(f"vendor {vendor!r}: rendered vendors are yealink, snom, grandstream")
        if not lines:
            raise InventoryError(f"device {mac}: give at least one line account (--line USER[:Display Name])")
        now = _now()
        with self._session() as session:
            if session.scalar(select(ProvDevice.id).where(ProvDevice.mac == mac)) is not None:
                raise InventoryError(f"device {mac} is in the inventory already")
            site_row = self._site(session, site)
            device = ProvDevice(
                mac=mac,
                vendor=chosen.value,
                model=model,
                site=site_row,
                owner=owner,
                window_from=now,
                window_until=now + timedelta(hours=site_row.window_hours),
                admin_password=self._password(),
                user_password=self._password(),
                digest_password=self._password(),
                lock_pin=self.box.seal(generate_pin()),
                fetches=0,
                wipe_pending=False,
                config_version=1,
                approved_version=1,
                state="active",
            )
            for number, (username, display) in enumerate(lines, 1):
                if session.scalar(select(ProvAccount.id).where(ProvAccount.username == username)) is not None:
                    raise InventoryError(f"SIP user {username!r} belongs to another device already")
                device.accounts.append(
                    ProvAccount(
                        line=number, username=username, display_name=display, password=self._password()
                    )
                )
            session.add(device)
            session.add(ProvEvent(time=now, action="add", mac=mac, reason=f"owner {owner!r} site {site!r}"))
            session.flush()
            self._push(device)
            return _device_json(device)

    def devices(self, site: str | None = None) -> list[dict[str, Any]]:
        with self._session() as session:
            query = select(ProvDevice).options(
                selectinload(ProvDevice.accounts), selectinload(ProvDevice.site)
            )
            if site is not None:
                query = query.where(ProvDevice.site_id == self._site(session, site).id)
            return [_device_json(d) for d in session.scalars(query.order_by(ProvDevice.mac))]

    def show(self, mac: str, reveal: bool = False) -> dict[str, Any]:
        with self._session() as session:
            device = self._device(session, mac)
            shown = _device_json(device)
            if reveal:
                shown["sip_passwords"] = {
                    a.username: self.box.open(a.password).reveal() for a in device.accounts
                }
                session.add(ProvEvent(time=_now(), action="reveal", mac=device.mac, reason="operator"))
            return shown

    def _device(self, session: Session, mac: str) -> ProvDevice:
        key = normalize_mac(mac)
        device = session.scalar(
            select(ProvDevice).where(ProvDevice.mac == key).options(selectinload(ProvDevice.accounts))
        )
        if device is None:
            raise InventoryError(f"no device {key} in the inventory")
        return device

    # --- lifecycle ----------------------------------------------------------------------------------

    def open_window(self, mac: str, hours: float | None = None) -> dict[str, Any]:
        now = _now()
        with self._session() as session:
            device = self._device(session, mac)
            if device.state != "active":
                raise InventoryError(f"device {device.mac} is retired: reassign it first")
            device.window_from, device.fetches = now, 0
            device.window_until = now + timedelta(hours=hours or device.site.window_hours)
            session.add(
                ProvEvent(time=now, action="open", mac=device.mac, reason=f"until {device.window_until}")
            )
            return _device_json(device)

    def retire(self, mac: str, why: str = "") -> dict[str, Any]:
        return self._rotate_all(mac, "retire", why, state="retired")

    def reassign(self, mac: str, owner: str, site: str | None = None) -> dict[str, Any]:
        return self._rotate_all(mac, "reassign", f"to {owner!r}", state="active", owner=owner, site=site)

    def rotate(self, mac: str) -> dict[str, Any]:
        """New SIP passwords (after a suspected exposure); the phone gets them on its next allowed fetch."""
        with self._session() as session:
            device = self._device(session, mac)
            for account in device.accounts:
                account.password, account.rotated_at = self._password(), _now()
            device.config_version += 1
            session.add(ProvEvent(time=_now(), action="rotate", mac=device.mac, reason="sip passwords"))
            session.flush()
            self._push(device)
            return _device_json(device)

    def approve(self, mac: str, by: str) -> dict[str, Any]:
        with self._session() as session:
            device = self._device(session, mac)
            device.approved_version = device.config_version
            session.add(
                ProvEvent(
                    time=_now(),
                    action="approve",
                    mac=device.mac,
                    reason=f"consent by {by!r}",
                    detail={"version": device.config_version},
                )
            )
            return _device_json(device)

    def _rotate_all(self, mac: str, action: str, why: str, **changes: Any) -> dict[str, Any]:
        now = _now()
        with self._session() as session:
            device = self._device(session, mac)
            for account in device.accounts:
                account.password, account.rotated_at = self._password(), now
            device.admin_password, device.user_password = self._password(), self._password()
            device.digest_password, device.lock_pin = self._password(), self.box.seal(generate_pin())
            device.window_until = now  # closed: a new owner enrolls through a newly opened window
            device.wipe_pending, device.state = True, changes["state"]
            device.config_version += 1
            if changes.get("owner") is not None:
                device.owner = changes["owner"]
            if changes.get("site") is not None:
                device.site = self._site(session, changes["site"])
            session.add(
                ProvEvent(
                    time=now,
                    action=action,
                    mac=device.mac,
                    reason=why,
                    detail={"rotated": [a.username for a in device.accounts]},
                )
            )
            session.flush()
            self._push(device)
            return _device_json(device)

    def _push(self, device: ProvDevice) -> None:
        if self.pbx is None:
            return
        for account in device.accounts:
            self.pbx.set(account.username, self.box.open(account.password).reveal())

    # --- the fetch path -----------------------------------------------------------------------------

    def for_gate(self, mac: str) -> tuple[gate.Device, render.Target, Secret] | None:
        """The gate's view of a device, its render target and digest secret; None when unknown."""
        with self._session() as session:
            device = session.scalar(
                select(ProvDevice)
                .where(ProvDevice.mac == mac)
                .options(selectinload(ProvDevice.accounts), selectinload(ProvDevice.site))
            )
            if device is None:
                return None
            site = device.site
            rules = gate.Rules(
                tuple(site.networks),
                site.max_fetches,
                site.require_user_agent,
                site.require_client_cert,
                site.require_digest,
                site.require_consent,
            )
            view = gate.Device(
                device.mac,
                Vendor(device.vendor),
                device.model,
                device.state,
                _epoch(device.window_from),
                _epoch(device.window_until),
                device.fetches,
                device.wipe_pending,
                device.config_version,
                device.approved_version,
                rules,
            )
            return view, self._target(device), self.box.open(device.digest_password)

    def _target(self, device: ProvDevice) -> render.Target:
        lines = tuple(
            render.Line(a.line, a.username, a.display_name, self.box.open(a.password))
            for a in device.accounts
        )
        s = self.settings
        return render.Target(
            device.mac,
            Vendor(device.vendor),
            device.model,
            lines,
            self.box.open(device.admin_password),
            self.box.open(device.user_password),
            self.box.open(device.lock_pin),
            s.registrar,
            s.registrar_tls_port,
            s.public_url,
        )

    def digest_required_somewhere(self) -> bool:
        with self._session() as session:
            return (
                session.scalar(select(ProvSite.id).where(ProvSite.require_digest.is_(True)).limit(1))
                is not None
            )

    def record_fetch(self, mac: str, wipe: bool, max_fetches: int) -> bool:
        """Count a delivery atomically; False when a concurrent fetch used the last one."""
        with self._session() as session:
            if wipe:
                query = update(ProvDevice).where(ProvDevice.mac == mac, ProvDevice.wipe_pending.is_(True))
                result = session.execute(query.values(wipe_pending=False))
            else:
                query = update(ProvDevice).where(ProvDevice.mac == mac, ProvDevice.fetches < max_fetches)
                result = session.execute(query.values(fetches=ProvDevice.fetches + 1))
            return bool(getattr(result, "rowcount", 0))


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _check_rules(values: dict[str, Any]) -> None:
    unknown = set(values) - set(SITE_RULES)
    if unknown:
        raise InventoryError(f"unknown site rule(s) {sorted(unknown)}; known: {', '.join(SITE_RULES)}")
    try:
        values["networks"] = (
            [check_network(n) for n in values.get("networks", [])] if "networks" in values else None
        )
    except ValueError as exc:
        raise InventoryError(str(exc)) from None
    if values["networks"] is None:
        del values["networks"]
    if "max_fetches" in values and values["max_fetches"] < 1:
        raise InventoryError(f"max_fetches must be at least 1, got {values['max_fetches']}")
    if "window_hours" in values and values["window_hours"] <= 0:
        raise InventoryError(f"window_hours must be positive, got {values['window_hours']}")


def _site_json(site: ProvSite) -> dict[str, Any]:
    return {"name": site.name, **{key: getattr(site, key) for key in SITE_RULES}}


def _device_json(device: ProvDevice) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value is not None else None

    return {
        "mac": device.mac,
        "vendor": device.vendor,
        "model": device.model,
        "site": device.site.name,
        "owner": device.owner,
        "state": device.state,
        "window_from": iso(device.window_from),
        "window_until": iso(device.window_until),
        "fetches": device.fetches,
        "wipe_pending": device.wipe_pending,
        "config_version": device.config_version,
        "approved_version": device.approved_version,
        "lines": [
            {"line": a.line, "username": a.username, "display_name": a.display_name} for a in device.accounts
        ],
    }
