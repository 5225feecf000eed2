"""Summaries and advice for people."""

from __future__ import annotations

from phonewarden.alerts.summary import action_of, summary_of


def test_summary_prefers_the_alerts_own_then_subject_and_reason() -> None:
    assert summary_of({"summary": "banned 203.0.113.7", "reason": "x"}) == "banned 203.0.113.7"
    assert summary_of({"account": "acme", "reason": "spent EUR 48"}) == "acme: spent EUR 48"
    assert summary_of({"type": "verdict", "device": "desk-1"}) == "desk-1: verdict"
    assert summary_of({}) == "alert"


def test_action_names_the_console_page_of_the_guard() -> None:
    assert "/lists/bans" in action_of({"guard": "shield"})
    assert "/fraud/alerts" in action_of({"guard": "fraud"})
    assert "overview" in action_of({"guard": "audit"})
