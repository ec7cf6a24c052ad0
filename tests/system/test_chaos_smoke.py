"""A small chaos run inside `make test`, so that `make chaos` cannot rot: faults, a SIGKILL, two operators, a
stalled lock holder, and every invariant checked from the audit trail."""

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
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert last.startswith("chaos: runs=1 "), result.stdout[-3000:] + result.stderr[-3000:]
    assert last.endswith("violations=0"), result.stdout[-3000:]
    assert result.returncode == 0
