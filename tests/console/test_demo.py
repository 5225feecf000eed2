from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from phonewarden.cli import app
from phonewarden.console.overview import TILES_BY_KEY, tile_count
from phonewarden.settings import load_settings
from phonewarden.store.engine import make_engine


def test_demo_fills_the_overview(clean_env: Path) -> None:
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "findings: 400 findings" in result.output
    engine, now = make_engine(load_settings().database_url), datetime.now(UTC)
    assert tile_count(TILES_BY_KEY["bans"], engine, now) == 12
    failing = re.search(r"audit: .*?(\d+) failing", result.output)
    assert failing, result.output
    assert tile_count(TILES_BY_KEY["audit"], engine, now) == int(failing.group(1))
    for part in ("shield", "privacy", "locations"):
        assert f"\n{part}: " in result.output, f"{part} has no sample: {result.output}"
    engine.dispose()
