"""`phonewarden serve` as a user runs it: a real process, a real port, a real database file."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from phonewarden.store.migrate import head_revision
from tests.conftest import free_port, free_udp_and_tcp_port


def test_serve_migrates_and_serves_the_console(tmp_path: Path) -> None:
    port, hep_port = free_port(), free_udp_and_tcp_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHONEWARDEN_")}
    env.update(PHONEWARDEN_DATA_DIR=str(tmp_path / "var"), PHONEWARDEN_HEP__PORT=str(hep_port))
    process = subprocess.Popen(
        [sys.executable, "-m", "phonewarden", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = ""
        for _ in range(600):  # start-up can take long on a loaded 2-core machine
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                    body = response.read().decode()
                break
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.1)
        assert head_revision() in body, process.stdout.read().decode() if process.poll() is not None else body
        assert (tmp_path / "var" / "phonewarden.db").is_file()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
            assert "<h1>phonewarden</h1>" in response.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_refuses_a_bad_setting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHONEWARDEN_")}
    env["PHONEWARDEN_CONSOLE__PORT"] = "http"
    result = subprocess.run(
        [sys.executable, "-m", "phonewarden", "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "console.port (got 'http')" in result.stderr
