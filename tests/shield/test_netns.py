"""The namespace lab itself: hosts talk over the bridge, and closing leaves no namespace or process behind."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.shield.netns import NetLab, UdpEcho, answered, require_tool


def namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout


@pytest.mark.peer
def test_lab_connects_hosts_and_cleans_up_after_itself() -> None:
    require_tool("ip")
    tag = f"pw{os.getpid()}t"
    with NetLab({"a": ["198.51.100.1/24"], "b": ["198.51.100.2/24"]}, tag=tag) as lab:
        assert f"{tag}-a" in namespaces() and f"{tag}-lan" in namespaces()
        echo = UdpEcho(lab, "a", 5099)
        with lab.socket("b") as sock:
            sock.bind(("198.51.100.2", 0))
            assert answered(sock, ("198.51.100.1", 5099), b"hello")
        echo.close()
        assert echo.received == ["198.51.100.2"]
        sleeper = lab.popen("b", ["sleep", "30"])
        with pytest.raises(AssertionError, match=rf"in {tag}-b: false exited 1"):
            lab.run("b", ["false"])
    assert sleeper.poll() is not None, "a process the lab started outlived it"
    assert tag not in namespaces()
