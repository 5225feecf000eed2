"""Endpoint audit: lint phone configs and probe phones against the hardening guide and firmware flaws."""
