"""AlertRouter: `submit(alert)` puts the alert into the outbox of every target a rule routes it to.

Rules are all-match: each rule that matches adds its targets, and an alert is queued once per target. A
rule reads as "these people want these alerts" (the SIEM takes everything, on-call only critical fraud);
with first-match the broad rule would have to come last and repeat every narrow rule's targets.

The router is shared by the guards running in one `serve` (`acquire`/`release`): one worker per target,
one outbox folder per target under `<data_dir>/outbox/<target>/`.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from pathlib import Path
from typing import Any

from phonewarden.alerts.outbox import Outbox
from phonewarden.alerts.settings import SEVERITIES, AlertRule, AlertSettings, Severity, split_address
from phonewarden.alerts.targets import Target, build_target
from phonewarden.alerts.targets.syslog import SyslogTarget
from phonewarden.alerts.targets.webhook import WebhookTarget

log = logging.getLogger(__name__)
# Alerts that record an action taken rather than a suspicion carry no severity of their own.
ACTION_SEVERITY = {"restriction": "high", "ban": "low"}  # a ban is routine: the shield acted already
DEFAULT_RULE_SEVERITY: Severity = "medium"


def severity_of(alert: dict[str, Any]) -> str:
    found = str(alert.get("severity") or ACTION_SEVERITY.get(str(alert.get("type")), "medium"))
    return found if found in SEVERITIES else "medium"


def rule_matches(rule: AlertRule, alert: dict[str, Any]) -> bool:
    if rule.guards and alert.get("guard") not in rule.guards:
        return False
    if SEVERITIES.index(severity_of(alert)) < SEVERITIES.index(rule.min_severity):
        return False
    kinds = {str(alert.get("type", "")), str(alert.get("detector", ""))}
    return not rule.kinds or bool(kinds & set(rule.kinds))


def outbox_root(data_dir: Path) -> Path:
    return data_dir / "outbox"


class AlertRouter:
    def __init__(self, root: Path, targets: dict[str, Target], rules: list[AlertRule], **retry: Any) -> None:
        self.root = root
        if not rules and targets:  # no rule given: every alert of at least medium to every target
            rules = [AlertRule(min_severity=DEFAULT_RULE_SEVERITY, targets=sorted(targets))]
        self.rules = rules
        self.outboxes = {name: Outbox(root / name, target, **retry) for name, target in targets.items()}

    def targets_for(self, alert: dict[str, Any]) -> list[str]:
        names = {name for rule in self.rules if rule_matches(rule, alert) for name in rule.targets}
        return sorted(names & set(self.outboxes))

    def submit(self, alert: dict[str, Any]) -> list[str]:
        """Queue the alert for its targets and return their names; delivery happens in the workers.
        Adds `severity` when missing and an `alert_id`, the same for every target and every retry."""
        alert = {**alert, "severity": severity_of(alert)}
        alert.setdefault("alert_id", uuid.uuid4().hex)
        names = self.targets_for(alert)
        for name in names:
            self.outboxes[name].add(alert)
        return names

    def start(self) -> None:
        for outbox in self.outboxes.values():
            outbox.start()

    def stop(self) -> None:
        for outbox in self.outboxes.values():
            outbox.stop()


def legacy_fraud_targets(fraud: Any) -> tuple[dict[str, Target], AlertRule | None]:
    """`[fraud] alert_webhook_url/alert_webhook_secret/alert_syslog/alert_min_severity`, the shortcut from
    before `[alerts]`: targets "fraud-webhook" and "fraud-syslog" with a rule for the fraud guard."""
    targets: dict[str, Target] = {}
    if fraud.alert_webhook_url:
        secret = fraud.alert_webhook_secret.encode()
        targets["fraud-webhook"] = WebhookTarget(fraud.alert_webhook_url, secret, name="fraud-webhook")
    if fraud.alert_syslog:
        host, port = split_address(fraud.alert_syslog)
        targets["fraud-syslog"] = SyslogTarget(host, port, name="fraud-syslog")
    if not targets:
        return targets, None
    rule = AlertRule(guards=["fraud"], min_severity=fraud.alert_min_severity, targets=sorted(targets))
    return targets, rule


def adopt_legacy_fraud_outbox(router: AlertRouter) -> int:
    """Move what the fraud guard's old outbox (`outbox/fraud/*.json`, {"alert", "targets"}) still holds
    into the outboxes of fraud-webhook/fraud-syslog; a file whose target is gone stays where it is."""
    renamed = {"webhook": "fraud-webhook", "syslog": "fraud-syslog"}
    moved = 0
    for path in sorted((router.root / "fraud").glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            names = [renamed.get(name, "") for name in record["targets"]]
            alert = {**record["alert"], "guard": record["alert"].get("guard", "fraud")}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # a new-style entry, or not ours
        if not all(name in router.outboxes for name in names):
            log.warning("alerts: %s waits for a target that is not configured; left in place", path)
            continue
        for name in names:
            router.outboxes[name].add(alert)
        path.unlink()
        moved += 1
    return moved


def router_from_settings(settings: Any) -> AlertRouter:
    """From `[alerts]` plus the fraud guard's legacy alert_* keys (a route of their own)."""
    alerts: AlertSettings = settings.alerts
    targets: dict[str, Target] = {name: build_target(name, t) for name, t in alerts.targets.items()}
    rules = list(alerts.rules)
    if not rules and targets:
        rules = [AlertRule(min_severity=DEFAULT_RULE_SEVERITY, targets=sorted(targets))]
    legacy_targets, legacy_rule = legacy_fraud_targets(settings.fraud)
    clash = sorted(set(legacy_targets) & set(targets))
    if clash:
        raise ValueError(f"alerts.targets.{clash[0]}: the name is taken by the [fraud] alert_* shortcut")
    targets.update(legacy_targets)
    if legacy_rule is not None:
        rules.append(legacy_rule)
    router = AlertRouter(
        outbox_root(settings.data_dir),
        targets,
        rules,
        retry_first_s=alerts.retry_first_s,
        retry_max_s=alerts.retry_max_s,
        dead_letter_days=alerts.dead_letter_days,
    )
    adopt_legacy_fraud_outbox(router)
    return router


_shared: dict[Path, tuple[AlertRouter, int]] = {}
_shared_lock = threading.Lock()


def acquire(settings: Any) -> AlertRouter:
    """The running router for this data_dir, built and started by the first guard that asks."""
    root = outbox_root(settings.data_dir).resolve()
    with _shared_lock:
        router, users = _shared.get(root) or (None, 0)
        if router is None:
            router = router_from_settings(settings)
            router.start()
        _shared[root] = (router, users + 1)
        return router


def release(router: AlertRouter) -> None:
    """The last guard to let go stops the workers; what is undelivered stays in the outbox files."""
    root = router.root.resolve()
    with _shared_lock:
        found, users = _shared.get(root) or (None, 0)
        if found is not router:
            router.stop()
            return
        if users > 1:
            _shared[root] = (router, users - 1)
            return
        del _shared[root]
    router.stop()


def running(data_dir: Path) -> AlertRouter | None:
    with _shared_lock:
        found = _shared.get(outbox_root(data_dir).resolve())
        return found[0] if found else None
