"""Compile phonewarden's hot modules (phonewarden._accel.HOT_MODULES) with mypyc into .accel/.

Run by `make` after the virtualenv is installed. It builds from a copy of src/ in a temporary directory, so
the source tree never holds extension files that could shadow an edited .py, then swaps the finished
build into place with a manifest of the sources' SHA-256. Without a C compiler or Python headers it says
why and leaves phonewarden on pure Python (exit 0), unless --strict is given.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from phonewarden._accel import ABI, DEFAULT_DIR, HOT_MODULES, MANIFEST, SOURCE_ROOT, digest, source_path

EXTENSION = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def build(target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="phonewarden-accel-") as scratch:
        root = Path(scratch) / "src"
        shutil.copytree(
            SOURCE_ROOT / "phonewarden", root / "phonewarden",
            ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc"),
        )  # fmt: skip
        # mypyc type-checks first, with the project's setting for libraries that ship no stubs.
        (root / "mypy.ini").write_text("[mypy]\nignore_missing_imports = True\n")
        sources = [str(source_path(module, root).relative_to(root)) for module in HOT_MODULES]
        result = subprocess.run(
            [sys.executable, "-m", "mypyc", *sources], cwd=root, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise RuntimeError(f"mypyc failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        staging = Path(tempfile.mkdtemp(prefix=".accel-", dir=target.parent))
        staging.chmod(0o755)
        modules: dict[str, dict[str, str]] = {}
        for module in HOT_MODULES:
            built = source_path(module, root).with_suffix(EXTENSION)
            relative = built.relative_to(root)
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(built, staging / relative)
            modules[module] = {"file": str(relative), "sha256": digest(source_path(module, root))}
        shared = {}
        for library in root.glob(f"*__mypyc{EXTENSION}"):  # the code all compiled modules share
            shutil.copy2(library, staging / library.name)
            shared[library.name.removesuffix(EXTENSION)] = library.name
        manifest = {"abi": ABI, "modules": modules, "shared": shared}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)


def record_failure(target: Path, error: str) -> None:
    """Replace any earlier build by a manifest that says why there is none (phonewarden reports it)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    manifest = {"abi": ABI, "modules": {}, "shared": {}, "error": error.splitlines()[0]}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", type=Path, default=DEFAULT_DIR, help="where the build goes (.accel/)")
    parser.add_argument("--strict", action="store_true", help="fail when the build fails")
    args = parser.parse_args()
    compiler = sysconfig.get_config_var("CC") or "cc"
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    try:
        if shutil.which(compiler.split()[0]) is None:
            raise RuntimeError(f"no C compiler ({compiler}); as root, `make` installs gcc")
        if not headers.is_file():
            raise RuntimeError(f"no Python headers ({headers}); install python3-dev")
        build(args.target.resolve())
    except (RuntimeError, OSError) as error:
        record_failure(
            args.target.resolve(), str(error)
        )  # so that make does not retry until a source changes
        if args.strict:
            sys.exit(f"build_accel: {error}")
        print(
            f"build_accel: phonewarden runs as pure Python (slower, same results): {error}", file=sys.stderr
        )
        return
    print(f"build_accel: {len(HOT_MODULES)} modules compiled into {args.target}")


if __name__ == "__main__":
    main()
