"""An in-process kubesim per test (pods Ready after 0.1 s, ``*crashloop*`` images crash-looping, the kubelet's
back-offs scaled down) with the CRD, a namespace and a Deployment installed, and a :class:`Bench` on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from kubesim.controllers import ControllerSettings
from kubesim.simulator import Simulator
from tests.engine.harness import Bench, install

TOKEN = "engine-token"


@pytest_asyncio.fixture
async def bench() -> AsyncIterator[Bench]:
    settings = ControllerSettings(
        pod_ready_seconds=0.1, fail_images=["*crashloop*"], crash_after_seconds=0.05, time_scale=0.05
    )
    sim = Simulator(token=TOKEN, settings=settings, bookmark_interval=0.5)
    url = await sim.start("127.0.0.1", 0)
    test_bench = Bench(url, TOKEN)
    try:
        await install(test_bench.client)
        yield test_bench
    finally:
        await test_bench.close_gates()
        await test_bench.worker.ctx.recorder.drain()
        await test_bench.client.close()
        await sim.stop()
