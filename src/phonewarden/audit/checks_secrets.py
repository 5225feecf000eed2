"""Password rules: default, weak admin and user passwords and weak SIP secrets. Never prints a secret."""

from __future__ import annotations

from typing import TYPE_CHECKING

from phonewarden.audit.configs import PhoneConfig
from phonewarden.audit.passwords import weakness
from phonewarden.audit.policy import Rule, Vendor
from phonewarden.audit.results import Status

if TYPE_CHECKING:
    from phonewarden.audit.checks_config import Outcome

# (label, key, value or None when absent, vendor default or None when undocumented)
Secret = tuple[str, str, str | None, str | None]

_ADMIN: dict[Vendor, tuple[tuple[str, str, str | None], ...]] = {
    Vendor.SNOM: (
        ("web UI password", "http_pass", ""),
        ("admin mode password", "admin_mode_password", "0000"),
    ),
    Vendor.GRANDSTREAM: (("admin password", "P2", None),),
    Vendor.POLY: (("admin password", "device.auth.localAdminPassword", "456"),),
    Vendor.FANVIL: (("admin password", "MMI_CONFIG_MODULE.MMI_Account.admin.Password", "admin"),),
}
_USER: dict[Vendor, tuple[tuple[str, str, str | None], ...]] = {
    Vendor.GRANDSTREAM: (("user password", "P196", None),),
    Vendor.POLY: (("user password", "device.auth.localUserPassword", "123"),),
    Vendor.FANVIL: (("guest password", "MMI_CONFIG_MODULE.MMI_Account.guest.Password", "guest"),),
}
_YEALINK_DEFAULTS = {"admin": "admin", "user": "user", "var": "var"}
# Factory passwords that count as "default" even where the key's absence is undecidable.
_FACTORY = frozenset({"admin", "0000", "456", "123", "user", "guest", "var", "9486", "PlcmSpIp"})


def _yealink(config: PhoneConfig, account: str) -> Secret:
    key = "static.security.user_password"
    for value, _line in config.repeated.get("security.user_password", []):
        name, _, password = value.partition(":")
        if name.strip() == account:
            return f"{account} password", key, password, _YEALINK_DEFAULTS[account]
    return f"{account} password", key, None, _YEALINK_DEFAULTS[account]


def _secrets(
    config: PhoneConfig, table: dict[Vendor, tuple[tuple[str, str, str | None], ...]], yealink: str
) -> list[Secret]:
    if config.vendor is Vendor.YEALINK:
        return [_yealink(config, yealink)]
    return [(label, key, config.get(key), default) for label, key, default in table.get(config.vendor, ())]


def _judge_default(secrets: list[Secret], config: PhoneConfig) -> Outcome:
    if not secrets:
        return Status.UNKNOWN, f"no {config.vendor.value} key for this password is known", ""
    failures, unknowns, passes = [], [], []
    for label, key, value, default in secrets:
        if value is None and default is None:
            unknowns.append(
                f"{label} ({key}) not set and the default depends on the model "
                "(newer models: random per device)"
            )
        elif value is None:
            failures.append(f"{label} ({key}) not set: the phone keeps its default {default!r}")
        elif value == default or value in _FACTORY or not value:
            failures.append(
                f"{config.where(key)}: {label} is the default"
                if value
                else f"{config.where(key)}: {label} is empty"
            )
        else:
            passes.append(f"{label} changed ({config.where(key)})")
    if failures:
        return Status.FAIL, "; ".join(failures), ""
    if unknowns:
        return Status.UNKNOWN, "; ".join(unknowns), ""
    return Status.PASS, "; ".join(passes), ""


def _judge_weak(secrets: list[Secret], config: PhoneConfig) -> Outcome:
    set_secrets = [(label, key, value) for label, key, value, default in secrets if value]
    if not set_secrets:
        return Status.UNKNOWN, "no password is set in this file, so its strength cannot be judged", ""
    failures, passes = [], []
    for label, key, value in set_secrets:
        reason = weakness(value)
        if reason:
            failures.append(f"{config.where(key)}: {label} is {reason}")
        else:
            passes.append(f"{label} is strong")
    if failures:
        return Status.FAIL, "; ".join(failures), ""
    return Status.PASS, "; ".join(passes), ""


def default_admin(r: Rule, config: PhoneConfig) -> Outcome:
    return _judge_default(_secrets(config, _ADMIN, "admin"), config)


def weak_admin(r: Rule, config: PhoneConfig) -> Outcome:
    return _judge_weak(_secrets(config, _ADMIN, "admin"), config)


def default_user(r: Rule, config: PhoneConfig) -> Outcome:
    return _judge_default(_secrets(config, _USER, "user"), config)


def weak_sip(r: Rule, config: PhoneConfig) -> Outcome:
    from phonewarden.audit.checks_config import accounts

    pattern = {
        Vendor.YEALINK: ("account.{n}.password", "account.{n}.user_name"),
        Vendor.SNOM: ("user_pass{n}", "user_name{n}"),
        Vendor.GRANDSTREAM: ("P34", "P35"),
        Vendor.POLY: ("reg.{n}.auth.password", "reg.{n}.auth.userId"),
        Vendor.FANVIL: (
            "SIP_CONFIG_MODULE.SIP_Line_List.SIP{n}.Register_Pswd",
            "SIP_CONFIG_MODULE.SIP_Line_List.SIP{n}.Register_User",
        ),
    }[config.vendor]
    numbers = accounts(config)
    if not numbers:
        return Status.UNKNOWN, "no SIP account is configured in this file", ""
    failures, unknowns = [], []
    for number in numbers:
        key, user_key = (p.replace("{n}", str(number)) for p in pattern)
        secret = config.get(key)
        if not secret:
            unknowns.append(f"account {number}: no SIP password in this file")
            continue
        reason = weakness(secret, config.get(user_key))
        if reason:
            failures.append(f"{config.where(key)}: account {number} SIP password is {reason}")
    if failures:
        return Status.FAIL, "; ".join(failures), ""
    if unknowns:
        return Status.UNKNOWN, "; ".join(unknowns), ""
    return Status.PASS, f"{len(numbers)} SIP password(s) strong", ""
