"""A kubesim whose controllers died must not look alive: the failure is logged and the process exits non-zero."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from kubesim import cli, simulator


async def _broken(*_args: Any, **_kwargs: Any) -> None:
    raise ImportError("no module named kubesim.controllers.missing")


def test_dead_controllers_are_logged_and_flagged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(simulator, "run_controllers", _broken)

    async def scenario() -> None:
        sim = simulator.Simulator(tls=False)
        await sim.start()
        await asyncio.wait_for(sim.crashed.wait(), 5)
        await sim.stop()
        assert isinstance(sim.crash, ImportError)

    with caplog.at_level(logging.CRITICAL, logger="kubesim.simulator"):
        asyncio.run(scenario())
    assert "kubesim's controllers stopped" in caplog.text
    assert "no module named kubesim.controllers.missing" in caplog.text


def test_the_command_exits_1_and_never_says_ready(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(simulator, "run_controllers", _broken)
    code = cli.main(["--insecure-http", "--port", "0"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "kubesim ready" not in out
    assert "the controllers stopped: ImportError" in err
