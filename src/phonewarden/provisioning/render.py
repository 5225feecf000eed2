"""Hardened configs rendered FROM the audit policy: one policy, two uses.

Every hardening line comes from `phonewarden.audit.policy_rules.RULES` through `render_setting`, with the
policy's placeholders filled: `<secret>` by this device's generated password (admin, user or SIP line,
by rule), `<registrar>` by the TLS registrar, `https://<server>/` by this server's public URL. Around them
go the lines a phone needs to work (accounts, registrar address), which are not hardening.
A rule whose safe value holds a placeholder this module does not know stops rendering (RenderError), so
a new policy rule cannot slip into configs half-filled.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from xml.sax.saxutils import escape

from phonewarden.audit.policy import ACCOUNT, SECRET, Rule, Setting, Vendor, render_setting, rules
from phonewarden.provisioning.secrets_box import Secret

RENDERED_VENDORS = (Vendor.YEALINK, Vendor.SNOM, Vendor.GRANDSTREAM)
# Rules whose <secret> is the phone's admin password, its user password, or the line's SIP password.
ADMIN_RULES = {"default-admin-password", "weak-admin-password"}
USER_RULES = {"default-user-password"}
SIP_RULES = {"weak-sip-password"}
# Placeholders with no value to write: the phone's address comes from DHCP, never from a config.
SKIPPED_PLACEHOLDERS = ("<private address>",)


class RenderError(Exception):
    """A config that cannot be rendered; names the vendor, rule and what is missing."""


@dataclass(frozen=True)
class Line:
    number: int
    username: str
    display_name: str
    password: Secret


@dataclass(frozen=True)
class Target:
    mac: str  # 12 lower-case hex digits
    vendor: Vendor
    model: str
    lines: tuple[Line, ...]
    admin_password: Secret
    user_password: Secret
    lock_pin: Secret
    registrar: str  # host
    registrar_port: int
    public_url: str  # https://host:port, no trailing slash


def policy_settings(target: Target, *, with_secrets: bool = True) -> list[tuple[str, str]]:
    """(rendered line, rule id) for every policy setting of the vendor; secret lines only if asked."""
    out: dict[str, str] = {}
    for rule in rules():
        for setting in rule.settings_for(target.vendor):
            if not with_secrets and (SECRET in setting.safe or ACCOUNT in setting.key):
                continue
            for number, value in _values(rule, setting, target):
                line = render_setting(target.vendor, setting, number, value)
                out.setdefault(line, rule.id)
    return list(out.items())


def _values(rule: Rule, setting: Setting, target: Target) -> Iterator[tuple[int | None, str]]:
    if any(p in setting.safe for p in SKIPPED_PLACEHOLDERS):
        return
    numbers: list[int | None] = [line.number for line in target.lines] if ACCOUNT in setting.key else [None]
    for number in numbers:
        value = setting.safe
        if SECRET in value:
            value = value.replace(SECRET, _secret_for(rule, target, number).reveal())
        value = value.replace("<registrar>", f"{target.registrar}:{target.registrar_port}")
        value = value.replace("https://<server>/", f"{target.public_url}/")
        if "<" in value:
            raise RenderError(
                f"{target.vendor.value}: rule {rule.id!r} key {setting.key} has a placeholder this "
                f"renderer does not fill: {setting.safe!r}"
            )
        yield number, _xml(value) if target.vendor is not Vendor.YEALINK else value


def _secret_for(rule: Rule, target: Target, number: int | None) -> Secret:
    if rule.id in ADMIN_RULES:
        return target.admin_password
    if rule.id in USER_RULES:
        return target.user_password
    if rule.id in SIP_RULES:
        for line in target.lines:
            if number is None or line.number == number:
                return line.password
        raise RenderError(f"{target.vendor.value}: rule {rule.id!r} needs a SIP line, the device has none")
    raise RenderError(
        f"{target.vendor.value}: rule {rule.id!r} asks for a secret this renderer has no source for"
    )


def _xml(text: str) -> str:
    return escape(text, {'"': "&quot;"})


# --- Yealink ------------------------------------------------------------------------------------------


def yealink_common(target: Target) -> str:
    """y0000000000xx.cfg: the site-wide hardening without any secret (every phone of the model reads it)."""
    lines = [line for line, _ in policy_settings(target, with_secrets=False)]
    return (
        "#!version:1.0.0.1\n# phonewarden: hardening from the audit policy, no secrets\n"
        + "\n".join(lines)
        + "\n"
    )


def yealink_device(target: Target, *, wipe: bool = False) -> str:
    """{mac}.cfg: the full hardening plus this phone's secrets and accounts (self-sufficient)."""
    body = [line for line, _ in policy_settings(target)]
    body += [
        "static.security.trust_certificates = 1",
        "static.security.cn_validation = 1",
        f"phone_setting.phone_lock.unlock_pin = {target.lock_pin.reveal()}",
        "static.auto_provision.repeat.minutes = 1440",
    ]
    for line in target.lines:
        n = line.number
        if wipe:
            body += [
                f"account.{n}.enable = 0",
                f"account.{n}.user_name = %NULL%",
                f"account.{n}.password = %NULL%",
            ]
            continue
        body += [
            f"account.{n}.enable = 1",
            f"account.{n}.label = {line.display_name or line.username}",
            f"account.{n}.display_name = {line.display_name or line.username}",
            f"account.{n}.auth_name = {line.username}",
            f"account.{n}.user_name = {line.username}",
            f"account.{n}.sip_server.1.address = {target.registrar}",
            f"account.{n}.sip_server.1.port = {target.registrar_port}",
        ]
    if wipe:
        body = [b for b in body if not b.startswith("account.") or ".enable" in b or "%NULL%" in b]
    return "#!version:1.0.0.1\n# phonewarden: device config\n" + "\n".join(body) + "\n"


# --- Snom -----------------------------------------------------------------------------------------------


def snom_device(target: Target, *, wipe: bool = False) -> str:
    """Snom XML settings for {mac}.xml and snom<model>-<MAC>.htm (the same content)."""
    body = [line for line, rule_id in policy_settings(target) if not (wipe and _account_rule(rule_id))]
    for line in target.lines:
        n, name = line.number, _xml(line.display_name or line.username)
        if wipe:
            body += [
                f'<user_active idx="{n}" perm="R">off</user_active>',
                f'<user_name idx="{n}" perm="R"></user_name>',
                f'<user_pass idx="{n}" perm="R"></user_pass>',
            ]
            continue
        body += [
            f'<user_active idx="{n}" perm="R">on</user_active>',
            f'<user_name idx="{n}" perm="R">{_xml(line.username)}</user_name>',
            f'<user_realname idx="{n}" perm="R">{name}</user_realname>',
        ]
    settings = "\n    ".join(body)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<settings>\n  <phone-settings e="2">\n    '
        f"{settings}\n  </phone-settings>\n</settings>\n"
    )


def _account_rule(rule_id: str) -> bool:
    return rule_id in SIP_RULES or rule_id in {"sip-transport-not-tls", "srtp-not-required"}


# --- Grandstream ----------------------------------------------------------------------------------------


def grandstream_device(target: Target, *, wipe: bool = False) -> str:
    """cfg{mac}.xml (config v1 P-values). Grandstream P-values name account 1 only: line 1 is rendered."""
    first = replace(target, lines=target.lines[:1])
    body = [line for line, rule_id in policy_settings(first) if not (wipe and rule_id in SIP_RULES)]
    host = target.public_url.removeprefix("https://")
    body.append(f"<P237>{_xml(host)}/</P237>")  # config server path; P212 = 2 makes it HTTPS
    for line in first.lines:
        user = "" if wipe else _xml(line.username)
        body += [f"<P35>{user}</P35>", f"<P36>{user}</P36>", f"<P47>{_xml(target.registrar)}</P47>"]
        body.append(f"<P3>{'' if wipe else _xml(line.display_name or line.username)}</P3>")
        if wipe:
            body.append("<P34></P34>")
    settings = "\n    ".join(body)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gs_provision version="1">\n'
        f'  <mac>{target.mac}</mac>\n  <config version="1">\n    {settings}\n  </config>\n</gs_provision>\n'
    )


def render_device(target: Target, *, wipe: bool = False) -> str:
    if target.vendor is Vendor.YEALINK:
        return yealink_device(target, wipe=wipe)
    if target.vendor is Vendor.SNOM:
        return snom_device(target, wipe=wipe)
    if target.vendor is Vendor.GRANDSTREAM:
        return grandstream_device(target, wipe=wipe)
    raise RenderError(
        f"no renderer for vendor {target.vendor.value!r} (rendered: yealink, snom, grandstream)"
    )
