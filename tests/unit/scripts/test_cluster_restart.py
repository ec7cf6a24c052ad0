"""scripts/cluster.py's helpers for chaos on the real control plane: a component killed and started again with the
flags it was started with, and a component paused for a bounded time (here on /bin/sleep, not a real cluster)."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts"))

import cluster  # type: ignore[import-not-found, unused-ignore]  # scripts/ is put on sys.path above

SLEEP = Path("/bin/sleep")
# cluster.py starts components that outlive it (stopped later from their pid files), so it keeps no Popen handle.
pytestmark = pytest.mark.filterwarnings("ignore:subprocess .* is still running:ResourceWarning")


def state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]


def running_pid(module: ModuleType) -> int | None:
    """The dummy's pid once it runs /bin/sleep (right after the fork its cmdline is still Python's)."""
    deadline = time.monotonic() + 5
    while (pid := module.pid_of("dummy")) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return pid  # type: ignore[no-any-return, unused-ignore]


@pytest.fixture
def component(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setattr(cluster, "STATE", tmp_path)
    monkeypatch.setattr(cluster, "PIDS", tmp_path / "pids")
    monkeypatch.setattr(cluster, "LOGS", tmp_path / "logs")
    cluster.start("dummy", SLEEP, ["30"])
    try:
        yield cluster
    finally:
        pid = running_pid(cluster)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)


def test_restart_kills_and_starts_again_with_the_same_flags(component: ModuleType) -> None:
    first = running_pid(component)
    assert first is not None
    component.restart("dummy")
    second = running_pid(component)
    assert second is not None and second != first
    assert Path(f"/proc/{second}/cmdline").read_bytes().split(b"\0")[:2] == [str(SLEEP).encode(), b"30"]
    deadline = time.monotonic() + 5
    while Path(f"/proc/{first}").exists() and state(first) != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{first}").exists() or state(first) == "Z"


def test_pause_stops_the_component_and_always_continues_it(component: ModuleType) -> None:
    pid = running_pid(component)
    assert pid is not None
    began = time.monotonic()
    component.pause("dummy", 0.3)
    assert time.monotonic() - began >= 0.3
    assert state(pid) in ("S", "R")  # continued, not left stopped


def test_a_component_that_is_not_running_cannot_be_restarted(component: ModuleType) -> None:
    with pytest.raises(component.ClusterError):
        component.restart("etcd")


def test_port_free() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not cluster.port_free(port)
    assert cluster.port_free(port)
