"""Words for people: a one-line summary of an alert and what the person on call can do about it."""

from __future__ import annotations

from typing import Any

# Where the console shows each guard's alerts and the buttons that act on them.
ACTIONS = {
    "fraud": "Check the account's calls; acknowledge at /fraud/alerts, lift a restriction at "
    "/fraud/restrictions (`phonewarden fraud restrictions` on the host).",
    "shield": "Check the source at /lists/bans; if it is one of yours, unban it there "
    "(`phonewarden shield unban ADDR`) and add it with `phonewarden shield allow CIDR`.",
    "privacy": "Check the device's destinations at /privacy; a firmware update or a changed setting is "
    "the usual cause.",
}
SUBJECT_FIELDS = ("account", "source", "device", "address", "subject")


def subject_of(alert: dict[str, Any]) -> str:
    return next((str(alert[key]) for key in SUBJECT_FIELDS if alert.get(key)), "")


def summary_of(alert: dict[str, Any]) -> str:
    """The alert's own `summary`, else its reason with the account/source/device it is about."""
    if alert.get("summary"):
        return str(alert["summary"])
    what = str(alert.get("reason") or alert.get("detector") or alert.get("type") or "alert")
    about = subject_of(alert)
    return f"{about}: {what}" if about else what


def action_of(alert: dict[str, Any]) -> str:
    return ACTIONS.get(str(alert.get("guard")), "Open the console's overview for the guard that raised it.")
