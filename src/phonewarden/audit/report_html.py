"""The HTML report for one site: fleet overview worst first, then each phone with the lines to change."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from jinja2 import Environment, select_autoescape

from phonewarden.audit.results import SEVERITY_ORDER, CheckResult, Status, risk_score

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Endpoint audit — {{ site }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f3f3f3}
.fail{color:#a00;font-weight:600}.unknown{color:#a60}.pass{color:#070}.critical{background:#fdd}.high{background:#fee}
code{background:#f6f6f6;padding:0 .2rem}
</style></head><body>
<h1>Endpoint audit — {{ site }}</h1>
<p>{{ generated }} · {{ phones|length }} phones · {{ failing }} failing checks · {{ unknown }} undecided
{% if errors %} · <span class="fail">{{ errors|length }} inputs could not be read</span>{% endif %}</p>
<h2>Fleet, worst first</h2>
<table><tr><th>phone</th><th>vendor</th><th>model</th><th>firmware</th>
{% for s in severities %}<th>{{ s }}</th>{% endfor %}<th>unknown</th></tr>
{% for p in phones %}<tr><td><a href="#p{{ loop.index }}">{{ p.target }}</a></td>
<td>{{ p.vendor or "?" }}</td>
<td>{{ p.model or "?" }}</td><td>{{ p.firmware or "?" }}</td>
{% for s in severities %}<td class="{{ s if p.fails[s] else '' }}">{{ p.fails[s] or "" }}</td>{% endfor %}
<td>{{ p.unknown or "" }}</td></tr>{% endfor %}</table>
{% if errors %}<h2>Could not be read</h2><ul>{% for e in errors %}<li>{{ e }}</li>{% endfor %}</ul>{% endif %}
{% for p in phones %}<h2 id="p{{ loop.index }}">{{ p.target }}</h2>
<table><tr><th>check</th><th>status</th><th>severity</th><th>what was found</th><th>fix</th></tr>
{% for r in p.results %}<tr><td>{{ r.check }}</td><td class="{{ r.status.value }}">{{ r.status.value }}</td>
<td>{{ r.severity.value }}</td><td>{{ r.detail }}</td>
<td>{% if r.status.value != "pass" %}<code>{{ r.remediation }}</code>{% endif %}</td></tr>{% endfor %}</table>
{% endfor %}</body></html>
"""
_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_STATUS_ORDER = {Status.FAIL: 0, Status.UNKNOWN: 1, Status.PASS: 2}


def render_report(
    results: list[CheckResult], errors: list[str], site: str, now: datetime | None = None
) -> str:
    by_target: dict[str, list[CheckResult]] = defaultdict(list)
    for result in results:
        by_target[result.target].append(result)
    phones = []
    for target, checks in by_target.items():
        checks.sort(key=lambda r: (_STATUS_ORDER[r.status], SEVERITY_ORDER[r.severity.value], r.check))
        fails = {
            s: sum(1 for r in checks if r.status is Status.FAIL and r.severity.value == s)
            for s in SEVERITY_ORDER
        }
        first = checks[0]
        phones.append(
            {
                "target": target,
                "vendor": first.vendor,
                "model": first.model,
                "firmware": first.firmware,
                "fails": fails,
                "unknown": sum(r.status is Status.UNKNOWN for r in checks),
                "results": checks,
                "score": risk_score(checks),
            }
        )
    phones.sort(key=lambda p: (-risk_score(p["results"]), str(p["target"])))  # type: ignore[arg-type]
    generated = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    return _ENV.from_string(_TEMPLATE).render(
        site=site,
        generated=generated,
        phones=phones,
        errors=errors,
        severities=list(SEVERITY_ORDER),
        failing=sum(r.status is Status.FAIL for r in results),
        unknown=sum(r.status is Status.UNKNOWN for r in results),
    )
