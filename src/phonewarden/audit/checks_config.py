"""Config lint: every rule of the policy applied to one `PhoneConfig`.

Unknown is not pass: a rule whose key is absent and whose vendor default is undocumented says
`unknown` with the reason. Most rules are decided from the policy's data alone (`_by_settings`);
secrets, URLs and addresses need code (`checks_secrets`, `_provisioning_*`, `_exposed`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from phonewarden.audit import checks_secrets
from phonewarden.audit.checks_firmware import firmware_outdated, firmware_vulnerable
from phonewarden.audit.configs import PhoneConfig
from phonewarden.audit.policy import ACCOUNT, Rule, Setting, Vendor, rules
from phonewarden.audit.results import CheckResult, Status

Outcome = tuple[Status, str, str]  # status, detail, remediation ("" = the rule's default fix)


def check_config(config: PhoneConfig, time: float, site: str | None = None) -> list[CheckResult]:
    model, firmware = firmware_of(config)
    results = []
    for r in rules():
        evidence: dict[str, object] = {}
        if r.id in ("firmware-vulnerable", "firmware-outdated"):
            judge = firmware_vulnerable if r.id == "firmware-vulnerable" else firmware_outdated
            status, detail, fix, evidence = judge(config.vendor.value, model, firmware)
            if status is Status.UNKNOWN and firmware is None:
                detail = "the config names no firmware version: probe the phone to read it"
        else:
            status, detail, fix = _decide(r, config)
        results.append(
            CheckResult(
                time=time,
                target=str(config.path),
                check=r.id,
                status=status,
                severity=r.severity,
                detail=detail,
                remediation=fix or r.remediation(config.vendor),
                vendor=config.vendor.value,
                model=model,
                firmware=firmware,
                site=site,
                evidence=evidence,
            )
        )
    return results


def _decide(r: Rule, config: PhoneConfig) -> Outcome:
    special = _SPECIAL.get(r.id)
    if special is not None:
        outcome = special(r, config)
        if outcome is not None:
            return outcome
    settings = r.settings_for(config.vendor)
    if not settings:
        return Status.UNKNOWN, f"no {config.vendor.value} configuration key is known for this rule", ""
    return _by_settings(r, config, settings)


def accounts(config: PhoneConfig) -> list[int]:
    """Account (line) numbers configured in the file."""
    marker = {
        Vendor.YEALINK: "account.{n}.user_name",
        Vendor.SNOM: "user_name{n}",
        Vendor.POLY: "reg.{n}.address",
        Vendor.FANVIL: "SIP_CONFIG_MODULE.SIP_Line_List.SIP{n}.Register_User",
    }.get(config.vendor)
    if config.vendor is Vendor.GRANDSTREAM:
        return [1] if config.get("P35") or config.get("P47") else []
    assert marker is not None
    return [n for n, value in config.accounts(marker).items() if value]


def _by_settings(r: Rule, config: PhoneConfig, settings: tuple[Setting, ...]) -> Outcome:
    failures: list[str] = []
    unknowns: list[str] = []
    passes: list[str] = []
    for setting in settings:
        numbers: list[int | None] = list(accounts(config)) if ACCOUNT in setting.key else [None]
        if not numbers:
            unknowns.append("no SIP account is configured in this file")
        for number in numbers:
            key = setting.key.replace(ACCOUNT, str(number)) if number is not None else setting.key
            value = config.get(key)
            if value is None and setting.default is None:
                unknowns.append(f"{key} is not set and the phone's default is not documented")
                continue
            shown = (
                f"{config.where(key)}: {key} = {value}"
                if value is not None
                else f"{key} not set (default {setting.default})"
            )
            ok = setting.passes(value if value is not None else str(setting.default))
            (passes if ok else failures).append(shown)
    if failures:
        return Status.FAIL, "; ".join(failures), ""
    if unknowns:
        return Status.UNKNOWN, "; ".join(dict.fromkeys(unknowns)), ""
    return Status.PASS, "; ".join(passes), ""


def _transport(r: Rule, config: PhoneConfig) -> Outcome | None:
    if config.vendor is Vendor.YEALINK:
        return _yealink_transport(config)
    if config.vendor is not Vendor.SNOM:
        return None
    numbers = accounts(config)
    if not numbers:
        return Status.UNKNOWN, "no SIP account is configured in this file", ""
    failures, unknowns = [], []
    for number in numbers:
        target = " ".join(
            filter(None, (config.get(f"user_outbound{number}"), config.get(f"user_host{number}")))
        )
        lowered = target.lower()
        if "transport=tls" in lowered or lowered.startswith("sips:"):
            continue
        key = f"user_host{number}"
        if re.search(r"transport=(udp|tcp)", lowered):
            failures.append(f"{config.where(key)}: account {number} uses {target!r}")
        else:
            unknowns.append(f"account {number}: no transport given, chosen by DNS NAPTR/SRV at run time")
    if failures:
        return Status.FAIL, "; ".join(failures), ""
    if unknowns:
        return Status.UNKNOWN, "; ".join(unknowns), ""
    return Status.PASS, "every account uses transport=tls", ""


def _yealink_transport(config: PhoneConfig) -> Outcome:
    numbers = accounts(config)
    if not numbers:
        return Status.UNKNOWN, "no SIP account is configured in this file", ""
    failures, passes = [], []
    for number in numbers:
        # Older firmware writes account.N.transport; newer account.N.sip_server.M.transport_type.
        key = f"account.{number}.sip_server.1.transport_type"
        if config.get(key) is None and config.get(f"account.{number}.transport") is not None:
            key = f"account.{number}.transport"
        value = config.get(key)
        if value is None:
            failures.append(f"{key} not set (default 0 = UDP)")
        elif value.strip() == "2":
            passes.append(f"{config.where(key)}: {key} = 2 (TLS)")
        else:
            failures.append(f"{config.where(key)}: {key} = {value} (0 UDP, 1 TCP, 2 TLS)")
    if failures:
        return Status.FAIL, "; ".join(failures), ""
    return Status.PASS, "; ".join(passes), ""


def _provisioning_url(config: PhoneConfig) -> tuple[str, str] | None:
    key = {
        Vendor.YEALINK: "static.auto_provision.server.url",
        Vendor.SNOM: "setting_server",
        Vendor.POLY: "device.prov.serverName",
        Vendor.FANVIL: "AUTOUPDATE_CONFIG_MODULE.Download_Server_IP",
        Vendor.GRANDSTREAM: "P237",
    }[config.vendor]
    value = config.get(key)
    return (key, value) if value else None


def _provisioning_scheme(r: Rule, config: PhoneConfig) -> Outcome | None:
    found = _provisioning_url(config)
    if found is None or "://" not in found[1]:
        return None  # decided by the scheme/protocol key, or unknown
    key, url = found
    scheme = urlsplit(url).scheme.lower()
    where = f"{config.where(key)}: {key} = {_mask(url)}"
    if scheme == "https":
        return Status.PASS, where, ""
    return Status.FAIL, f"{where} ({scheme} carries SIP credentials in clear)", ""


def _provisioning_credentials(r: Rule, config: PhoneConfig) -> Outcome:
    found = _provisioning_url(config)
    if found is None:
        return (
            Status.UNKNOWN,
            "no provisioning URL in this file (it may come from DHCP option 66 or a redirect service)",
            "",
        )
    key, url = found
    parts = urlsplit(url if "://" in url else f"//{url}")
    where = f"{config.where(key)}: {key} = {_mask(url)}"
    if parts.password is not None or parts.username:
        return Status.FAIL, f"{where}: the URL carries user:password", ""
    return Status.PASS, where, ""


def _mask(url: str) -> str:
    return re.sub(r"(//[^:/@]*):[^@/]*@", r"\1:***@", url)


def _exposed(r: Rule, config: PhoneConfig) -> Outcome:
    key = "static.network.internet_port.ip"
    value = config.get(key) if config.vendor is Vendor.YEALINK else None
    if not value:
        return Status.UNKNOWN, "no static address in this file (DHCP): probe from outside to decide", ""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return Status.UNKNOWN, f"{config.where(key)}: {value!r} is not an IP address", ""
    if address.is_global:
        return Status.FAIL, f"{config.where(key)}: {key} = {value} is a public address", ""
    return Status.PASS, f"{config.where(key)}: {key} = {value} is not public", ""


def _wifi(r: Rule, config: PhoneConfig) -> Outcome | None:
    value = config.get("static.wifi.enable") if config.vendor is Vendor.YEALINK else None
    if value is None or value.strip() != "1":
        return None
    if any(k.startswith("static.wifi.") and k.endswith(".ssid") and v for k, v in config.values.items()):
        return Status.PASS, "Wi-Fi is enabled and a network is configured (in use)", ""
    return Status.FAIL, f"{config.where('static.wifi.enable')}: Wi-Fi enabled but no network configured", ""


def _auto_update(r: Rule, config: PhoneConfig) -> Outcome | None:
    if (
        config.vendor is Vendor.YEALINK
        and (config.get("static.auto_provision.weekly.enable") or "").strip() == "1"
    ):
        return (
            Status.PASS,
            f"{config.where('static.auto_provision.weekly.enable')}: weekly auto provisioning",
            "",
        )
    return None


def firmware_of(config: PhoneConfig) -> tuple[str | None, str | None]:
    """Model and firmware when the config names a firmware file (e.g. T46S-66.86.0.15.rom)."""
    url = config.get("static.firmware.url") or config.get("firmware") or config.get("firmware_status") or ""
    match = re.search(
        r"([A-Za-z]+\d+[A-Za-z0-9_]*)?[-_]?(\d+\.\d+\.\d+(?:\.\d+)?)(?:\.rom|\.bin|\.zip)?$", url
    )
    if match is None:
        return config.model, None
    return config.model or match.group(1), match.group(2)


_SPECIAL: dict[str, Callable[[Rule, PhoneConfig], Outcome | None]] = {
    "default-admin-password": checks_secrets.default_admin,
    "weak-admin-password": checks_secrets.weak_admin,
    "default-user-password": checks_secrets.default_user,
    "weak-sip-password": checks_secrets.weak_sip,
    "sip-transport-not-tls": _transport,
    "provisioning-over-http": _provisioning_scheme,
    "provisioning-credentials-in-url": _provisioning_credentials,
    "exposed-to-internet": _exposed,
    "wifi-enabled-unused": _wifi,
    "auto-update-disabled": _auto_update,
}
