from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from phonewarden.audit import service
from phonewarden.audit.models import AuditCheck, AuditRun
from phonewarden.audit.results import Status
from phonewarden.store.engine import session_factory
from phonewarden.store.migrate import upgrade
from tests.audit.conftest import DATA


def test_lint_a_directory_reads_configs_and_reports_unreadable_ones(tmp_path: Path) -> None:
    (tmp_path / "fw").mkdir()
    (tmp_path / "fw" / "T46S-66.86.0.15.rom").write_bytes(b"\x00firmware")  # not a config: skipped
    (tmp_path / "y000000000044.cfg").write_text((DATA / "yealink" / "hardened.cfg").read_text())
    (tmp_path / "readme.txt").write_text("provisioning notes\n")
    outcome = service.lint([tmp_path, tmp_path / "missing.cfg"], site="hq")
    assert {r.target for r in outcome.results} == {str(tmp_path / "y000000000044.cfg")}
    assert all(r.site == "hq" for r in outcome.results)
    assert len(outcome.errors) == 2
    assert any("readme.txt: not a config of a known vendor" in e for e in outcome.errors)
    assert any(e.endswith("missing.cfg: no such file or directory") for e in outcome.errors)


def test_lint_uses_file_time_as_event_time(tmp_path: Path) -> None:
    config = tmp_path / "y.cfg"
    config.write_text("#!version:1.0.0.1\nsip.trust_ctrl = 1\n")
    import os

    os.utime(config, (1700000000, 1700000000))
    outcome = service.lint([config])
    assert {r.time for r in outcome.results} == {1700000000.0}
    assert outcome.summary().to_json()["time"] == "2023-11-14T22:13:20.000000Z"


def test_store_saves_one_run_with_its_checks(engine: Engine) -> None:
    upgrade(engine)
    outcome = service.lint([DATA / "snom"], site="branch")
    run_id = service.store(engine, "config", "branch", outcome)
    with session_factory(engine)() as session:
        run = session.get(AuditRun, run_id)
        assert run is not None and (run.kind, run.site, run.targets) == ("config", "branch", 3)
        assert run.failed == sum(r.status is Status.FAIL for r in outcome.results) > 0
        rows = session.scalars(select(AuditCheck).where(AuditCheck.run_id == run_id)).all()
        assert len(rows) == len(outcome.results)
