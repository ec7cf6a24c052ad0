"""A small chaos run inside `make test`, so that `make chaos` cannot rot: faults, lost responses, a SIGKILL, two
operators that both take locks, a stalled lock holder, and every invariant checked from the audit trail. (The
checker's own self-test, planted violations in a recorded trail, is tests/unit/scripts/test_chaos_checker.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_kubectl

pytestmark = [pytest.mark.system, pytest.mark.kubesim_only("chaos injects faults through kubesim")]
ROOT = Path(__file__).resolve().parents[2]


def test_a_tiny_chaos_run_finds_no_violation(tmp_path: Path) -> None:
    require_kubectl()
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "chaos.py")],
        cwd=tmp_path,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
        env={**os.environ, "SIZE": "tiny", "SEED": "7"},
    )
    lines = result.stdout.strip().splitlines()
    last = lines[-1] if lines else ""
    assert last.startswith("chaos: runs=1 "), result.stdout[-3000:] + result.stderr[-3000:]
    assert last.endswith("violations=0"), result.stdout[-3000:]
    assert result.returncode == 0
    # The run examined something: Deployment writes, and both operators holding locks (the checker also fails a run
    # in which one never does).
    examined = dict(item.split("=") for item in lines[-2].removeprefix("examined: ").split())
    assert int(examined["deployment_writes"]) > 0 and int(examined["lock_holders"]) == 2, lines[-2]
