"""The benchmark harness at a tiny size, so that `make bench` cannot rot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_kubectl

pytestmark = [pytest.mark.system, pytest.mark.kubesim_only("the benchmark starts its own kubesim")]
ROOT = Path(__file__).resolve().parents[2]
KEYS = (
    "overhead_p50_ms",
    "overhead_p99_ms",
    "handoff_p50_ms",
    "handoff_p99_ms",
    "crash_to_rollback_patch_s",
    "crash_to_rollback_available_s",
    "throughput_rps",
    "api_requests_per_request",
    "rss_mb_10k_idle",
    "idle_cpu_percent",
    "rss_mb_throughput_peak",
    "cpu_percent_throughput",
)


def test_the_benchmark_runs_and_writes_every_figure(tmp_path: Path) -> None:
    require_kubectl()
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py")],
        cwd=tmp_path,
        text=True,
        capture_output=True,
        timeout=240,
        check=False,
        env={**os.environ, "SIZE": "tiny", "BENCH_OUT": str(out)},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures = json.loads(out.read_text())
    for key in KEYS:
        assert key in figures, key
    for key in ("overhead_p50_ms", "handoff_p50_ms", "crash_to_rollback_patch_s", "api_requests_per_request"):
        assert f"baseline_{key}" in figures
    assert figures["throughput_overlaps"] == 0
    assert "baseline: queue poll" in result.stdout
