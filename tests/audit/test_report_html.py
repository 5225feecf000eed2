from __future__ import annotations

from datetime import UTC, datetime

from phonewarden.audit import service
from phonewarden.audit.report_html import render_report
from tests.audit.conftest import DATA


def test_report_orders_phones_worst_first_and_shows_the_line_to_change() -> None:
    outcome = service.lint([DATA / "yealink"], site="hq")
    html = render_report(outcome.results, ["x.cfg: unreadable"], "hq", datetime(2026, 11, 25, tzinfo=UTC))
    insecure, hardened = html.index("yealink/insecure.cfg"), html.index("yealink/hardened.cfg")
    assert insecure < hardened
    assert "set account.1.srtp_encryption = 2" in html
    assert "insecure.cfg:9: account.1.srtp_encryption = 0" in html
    assert "x.cfg: unreadable" in html and "2026-11-25 00:00 UTC" in html


def test_report_escapes_what_it_was_given() -> None:
    outcome = service.lint([DATA / "yealink" / "insecure.cfg"], site="<script>")
    html = render_report(outcome.results, ["<b>bad</b>"], "<script>")
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;bad" in html
