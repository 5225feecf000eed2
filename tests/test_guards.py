import sys
from pathlib import Path

import pytest

from phonewarden.guards import GUARDS, import_guard_module


def test_missing_guard_is_none_and_broken_guard_surfaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert import_guard_module("no_such_guard", "cli") is None
    package = tmp_path / "pwtest_guard"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "cli.py").write_text("import module_that_does_not_exist\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import phonewarden

    monkeypatch.setattr(phonewarden, "__path__", [*phonewarden.__path__, str(tmp_path)])
    (tmp_path / "pwtest_guard" / "api.py").write_text("router = 'here'\n")
    assert import_guard_module("pwtest_guard", "api").router == "here"  # type: ignore[union-attr]
    assert import_guard_module("pwtest_guard", "missing_part") is None
    with pytest.raises(ModuleNotFoundError, match="module_that_does_not_exist"):
        import_guard_module("pwtest_guard", "cli")
    sys.modules.pop("phonewarden.pwtest_guard", None)


def test_the_five_guards_are_named() -> None:
    assert set(GUARDS) == {"shield", "fraud", "privacy", "audit", "provisioning"}
