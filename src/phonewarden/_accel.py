"""The compiled hot path: the SIP decoder and the shield's per-message code, built with mypyc.

`make` runs scripts/build_accel.py, which compiles HOT_MODULES from a copy of their sources into .accel/
(next to src/, never inside it) and records each source's SHA-256 in .accel/manifest.json. At import,
install() puts a finder in front of the normal ones that loads those extension modules, but only when
every recorded hash still matches the source file: the compiled modules call each other directly, so
one edited module means none of them is used (the pure-Python modules then run, unchanged). Without a
build (a wheel install, no C compiler) everything runs as pure Python, which behaves the same.
PHONEWARDEN_PURE_PYTHON=1 turns the compiled path off; PHONEWARDEN_ACCEL_DIR points at another build.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

HOT_MODULES = (
    "phonewarden.capture.replay",
    "phonewarden.core.clock",
    "phonewarden.core.windows",
    "phonewarden.shield.detect_bruteforce",
    "phonewarden.shield.detect_enum",
    "phonewarden.shield.detect_flood",
    "phonewarden.shield.detect_malformed",
    "phonewarden.shield.detect_scanner",
    "phonewarden.shield.detect_tollfraud",
    "phonewarden.shield.findings",
    "phonewarden.shield.policy",
    "phonewarden.shield.service",
    "phonewarden.shield.transactions",
    "phonewarden.wire.packets",
    "phonewarden.wire.pcap",
    "phonewarden.wire.sip",
    "phonewarden.wire.sip_fields",
    "phonewarden.wire.sip_values",
    "phonewarden.wire.traffic",
)
SOURCE_ROOT = Path(__file__).resolve().parent.parent  # the directory that holds the phonewarden package
DEFAULT_DIR = SOURCE_ROOT.parent / ".accel"
MANIFEST = "manifest.json"
ABI = f"{sys.implementation.cache_tag}-{sys.platform}"

status = "pure Python: not installed"  # what install() found, for `phonewarden version` and the benches


def source_path(module: str, root: Path = SOURCE_ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def hot_sources() -> list[str]:
    """The compiled modules' source files, relative to the project (for the Makefile's dependencies)."""
    return [str(source_path(module).relative_to(SOURCE_ROOT.parent)) for module in HOT_MODULES]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class CompiledFinder(importlib.abc.MetaPathFinder):
    """Finds the compiled extension file of each module it was given, and nothing else."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        file = self.files.get(fullname)
        if file is None:
            return None
        loader = importlib.machinery.ExtensionFileLoader(fullname, str(file))
        return importlib.util.spec_from_file_location(fullname, file, loader=loader)


def check(accel_dir: Path, root: Path = SOURCE_ROOT) -> tuple[dict[str, Path], str]:
    """The extension files to load from accel_dir, and why none are (empty dict) when they must not be."""
    try:
        manifest = json.loads((accel_dir / MANIFEST).read_text())
    except FileNotFoundError:
        return {}, f"pure Python: no compiled build in {accel_dir} (make builds one)"
    except (OSError, ValueError) as error:
        return {}, f"pure Python: unreadable {accel_dir / MANIFEST}: {error}"
    if manifest.get("error"):
        return {}, f"pure Python: the compiled build failed ({manifest['error']}); see scripts/build_accel.py"
    if manifest.get("abi") != ABI:
        return {}, f"pure Python: the build in {accel_dir} is for {manifest.get('abi')}, this is {ABI}"
    files: dict[str, Path] = {}
    for module, entry in manifest.get("modules", {}).items():
        source = source_path(module, root)
        try:
            changed = digest(source) != entry["sha256"]
        except OSError:
            changed = True
        if changed:
            return {}, f"pure Python: {source} changed since the compiled build (make rebuilds it)"
        files[module] = accel_dir / entry["file"]
    for module, file in manifest.get("shared", {}).items():
        files[module] = accel_dir / file
    missing = [str(file) for file in files.values() if not file.is_file()]
    if missing or not files:
        return {}, f"pure Python: the build in {accel_dir} is incomplete ({', '.join(missing) or 'empty'})"
    return files, f"compiled: {len(manifest['modules'])} modules from {accel_dir}"


def install() -> str:
    """Put the compiled modules in front of the pure ones when a matching build exists; returns the status."""
    global status
    if os.environ.get("PHONEWARDEN_PURE_PYTHON", "") not in ("", "0"):
        status = "pure Python: PHONEWARDEN_PURE_PYTHON is set"
        return status
    already = [module for module in HOT_MODULES if module in sys.modules]
    if already:  # too late to swap them: mixing compiled and pure copies of one module is not safe
        status = f"pure Python: {already[0]} was imported before phonewarden"
        return status
    accel_dir = Path(os.environ.get("PHONEWARDEN_ACCEL_DIR") or DEFAULT_DIR)
    files, status = check(accel_dir)
    if files and not any(isinstance(finder, CompiledFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, CompiledFinder(files))
    return status


def is_compiled(module: ModuleType) -> bool:
    return isinstance(getattr(module, "__loader__", None), importlib.machinery.ExtensionFileLoader)
