"""Alert delivery shared by the guards: targets (webhook, e-mail, syslog), per-rule routing, and an outbox
per target that loses nothing while a target is down (docs/alerts.md)."""
