"""The compiled hot path: used only from a build whose sources match; it gives the pure path's results."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from phonewarden import _accel
from tests.conftest import DATA

# Plain SIP over UDP, TCP and IPv6, and HEP: one CLI run each way costs ~3 s on a slow machine.
CAPTURES = [
    DATA / "captures" / name
    for name in (
        "sip-scan-sipvicious.pcapng",
        "hep-sip-scan-sipvicious.pcapng",
        "sip-tcp.pcapng",
        "sip-ipv6.pcapng",
    )
]
SIP_SAMPLES = sorted((DATA / "sip").glob("*.sip"))
PHONEWARDEN = Path(sys.executable).parent / "phonewarden"
REQUIRED = os.environ.get("PHONEWARDEN_REQUIRE_ACCEL") == "1"  # .ci/run: the build must be in use


def _fake_build(tmp_path: Path, **manifest_changes: object) -> tuple[Path, Path]:
    """A source tree with one module and a build dir whose manifest records that module's hash."""
    root = tmp_path / "src"
    source = _accel.source_path("phonewarden.wire.sip", root)
    source.parent.mkdir(parents=True)
    source.write_text("x = 1\n")
    build = tmp_path / "build"
    (build / "phonewarden" / "wire").mkdir(parents=True)
    (build / "phonewarden" / "wire" / "sip.so").write_bytes(b"\x7fELF")
    (build / "abc__mypyc.so").write_bytes(b"\x7fELF")
    manifest: dict[str, object] = {
        "abi": _accel.ABI,
        "modules": {
            "phonewarden.wire.sip": {"file": "phonewarden/wire/sip.so", "sha256": _accel.digest(source)}
        },
        "shared": {"abc__mypyc": "abc__mypyc.so"},
        **manifest_changes,
    }
    (build / _accel.MANIFEST).write_text(json.dumps(manifest))
    return root, build


def test_a_build_whose_sources_match_is_used(tmp_path: Path) -> None:
    root, build = _fake_build(tmp_path)
    files, status = _accel.check(build, root)
    assert files == {
        "phonewarden.wire.sip": build / "phonewarden/wire/sip.so",
        "abc__mypyc": build / "abc__mypyc.so",
    }
    assert status.startswith("compiled: 1 modules")


def test_an_edited_source_turns_the_whole_build_off(tmp_path: Path) -> None:
    root, build = _fake_build(tmp_path)
    source = _accel.source_path("phonewarden.wire.sip", root)
    source.write_text("x = 2\n")
    files, status = _accel.check(build, root)
    assert files == {}
    assert str(source) in status and "changed" in status


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"abi": "cpython-27-linux"}, "is for cpython-27-linux"),
        ({"error": "no C compiler (cc)"}, "the compiled build failed (no C compiler (cc))"),
        ({"shared": {"abc__mypyc": "gone.so"}}, "incomplete"),
    ],
)
def test_a_foreign_failed_or_incomplete_build_is_not_used(
    tmp_path: Path, changes: dict[str, object], expected: str
) -> None:
    root, build = _fake_build(tmp_path, **changes)
    files, status = _accel.check(build, root)
    assert files == {} and expected in status and status.startswith("pure Python")


def test_no_build_or_a_broken_manifest_says_why(tmp_path: Path) -> None:
    assert "no compiled build" in _accel.check(tmp_path / "none")[1]
    (tmp_path / _accel.MANIFEST).write_text("{")
    assert "unreadable" in _accel.check(tmp_path)[1]


def test_the_makefile_depends_on_every_compiled_source() -> None:
    sources = _accel.hot_sources()
    assert len(sources) == len(_accel.HOT_MODULES)
    assert all((_accel.SOURCE_ROOT.parent / source).is_file() for source in sources)


def test_the_hot_modules_run_compiled_when_built() -> None:
    import phonewarden.shield.service
    import phonewarden.wire.sip

    if not _accel.status.startswith("compiled"):
        if REQUIRED:
            pytest.fail(f"PHONEWARDEN_REQUIRE_ACCEL=1 but {_accel.status}")
        pytest.skip(f"the compiled build is not in use here: {_accel.status}")
    assert _accel.is_compiled(phonewarden.wire.sip) and _accel.is_compiled(phonewarden.shield.service)


def _run(argv: list[str], pure: bool, stdin: str | None = None) -> str:
    env = {**os.environ, "PHONEWARDEN_PURE_PYTHON": "1" if pure else "0"}
    result = subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda path: path.name)
def test_compiled_and_pure_replays_give_the_same_records(capture: Path) -> None:
    if not _accel.status.startswith("compiled") and not REQUIRED:
        pytest.skip(f"nothing to compare: {_accel.status}")
    argv = [str(PHONEWARDEN), "shield", "replay", str(capture), "--json"]
    compiled, pure = _run(argv, pure=False), _run(argv, pure=True)
    assert compiled == pure
    assert json.loads(compiled.splitlines()[-1])["type"] == "summary"


_DECODE_ALL = """
import json, sys
from phonewarden import _accel
from phonewarden.wire.sip import parse_sip
print(_accel.status)
for line in sys.stdin:
    message = parse_sip(bytes.fromhex(line))
    print(json.dumps([message.to_json(), message.call_id, message.from_user, message.via_branch,
                      message.auth_username, message.user_agent, message.method, message.anomalies],
                     sort_keys=True, default=str))
"""


def test_compiled_and_pure_decoders_agree_on_real_and_mangled_messages() -> None:
    if not _accel.status.startswith("compiled") and not REQUIRED:
        pytest.skip(f"nothing to compare: {_accel.status}")
    rng = random.Random(20261125)
    corpus = [path.read_bytes() for path in SIP_SAMPLES]
    for _ in range(2000):  # flipped, cut and spliced bytes: the tolerant paths, not only the fast one
        data = bytearray(rng.choice(corpus))
        for _ in range(rng.randint(1, 6)):
            where = rng.randrange(len(data))
            data[where] = rng.choice(b'\r\n :;,<>"@\t\x00\xff') if rng.random() < 0.7 else rng.randrange(256)
        corpus.append(bytes(data[: rng.randint(1, len(data))]) if rng.random() < 0.2 else bytes(data))
    stdin = "".join(data.hex() + "\n" for data in corpus)
    argv = [sys.executable, "-c", _DECODE_ALL]
    compiled, pure = _run(argv, pure=False, stdin=stdin), _run(argv, pure=True, stdin=stdin)
    assert compiled.splitlines()[0].startswith("compiled") and pure.splitlines()[0].startswith("pure")
    assert compiled.splitlines()[1:] == pure.splitlines()[1:]
