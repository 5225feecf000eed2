"""Alert delivery shared by the guards: webhook, syslog, an outbox that loses nothing, acknowledgements."""
