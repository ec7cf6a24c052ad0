"""pytest fixtures: ``kubesim`` (a real process per test module), ``kubectl`` (runs the real binary against it)
and ``simulator`` (an in-process Simulator on a free port in the test's event loop)."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import pytest_asyncio

from tests.support.kubectl import require_kubectl, run_kubectl
from tests.support.process import KubesimProcess

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def kubesim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubesimProcess]:
    with KubesimProcess(tmp_path_factory.mktemp("kubesim"), "--pod-ready-seconds", "0.2") as sim:
        yield sim


@pytest.fixture
def kubectl(kubesim: KubesimProcess) -> Kubectl:
    """``kubectl(*args, input=None, timeout=30)`` against the module's kubesim; skips without kubectl."""
    require_kubectl()

    def run(*args: str, input: str | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return run_kubectl(kubesim.kubeconfig, *args, input=input, timeout=timeout)

    return run


@pytest_asyncio.fixture
async def simulator() -> AsyncIterator[object]:
    from kubesim.simulator import Simulator

    sim = Simulator(token="test-token", bookmark_interval=0.5)
    await sim.start("127.0.0.1", 0)
    try:
        yield sim
    finally:
        await sim.stop()
