"""The benchmark harness at a tiny size, so that `make bench` cannot rot."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_kubectl

pytestmark = [pytest.mark.system, pytest.mark.kubesim_only("the benchmark starts its own kubesim")]
ROOT = Path(__file__).resolve().parents[2]
# figure -> (lowest, highest) plausible value at SIZE=tiny on a loaded 2-core CI machine; NaN fails every bound.
PLAUSIBLE = {
    "overhead_ms_p50": (0.5, 2000),
    "overhead_ms_max": (0.5, 5000),
    "handoff_ms_p50": (0.5, 5000),
    # The kubelet at 1/10 speed: the second exit (CrashLoopBackOff) comes 0.1 s (the sync) + 0.02 s (the run)
    # after the first. 0 would mean the crash was never seen (the old fallback).
    "crash_to_rollback_patch_s_p50": (0.05, 10),
    "crash_to_rollback_available_s_p50": (0.05, 30),
    "late_crash_to_rollback_patch_s_p50": (0.01, 30),
    # deployreq report's time to restore (failure detected -> previous version available), and the pipeline's
    # (its undo written on seeing the failure -> available): both only the rollback's own rollout. The bad release
    # crashes at start, so the rolling update never scaled the old ReplicaSet down: the undo is available as soon
    # as the controller counts it, which kubesim does within milliseconds (9 ms seen in CI). 0 is plausible; a
    # missing figure (no restore seen) or a negative one is not.
    "time_to_restore_s_p50": (0, 30),
    "baseline_time_to_restore_s_p50": (0, 30),
    "throughput_rps": (0.1, 1000),
    "cpu_cost_rps": (0.1, 1000),
    "cpu_cost_operator_cpu_ms_per_request": (0.1, 1000),
    "throughput_api_requests_per_request": (1, 100),
    "rss_mb_finished_idle": (10, 1000),
    "idle_cpu_percent": (0, 50),
    "finished_request_bytes": (500, 20000),
    "baseline_overhead_ms_p50": (1, 10000),
    "baseline_handoff_ms_p50": (1, 20000),  # negative when the wrong job was taken for the first
    "baseline_crash_to_rollback_patch_s_p50": (5, 60),  # the pipeline waits out its 10 s rollout timeout
}


def test_the_benchmark_runs_and_every_figure_is_plausible(tmp_path: Path) -> None:
    require_kubectl()
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py")],
        cwd=tmp_path,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
        env={**os.environ, "SIZE": "tiny", "BENCH_OUT": str(out)},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures = json.loads(out.read_text())
    implausible = {
        key: figures.get(key)
        for key, (low, high) in PLAUSIBLE.items()
        if not (isinstance(figures.get(key), float | int) and low <= figures[key] <= high)
    }
    assert not implausible, implausible
    for key, value in figures.items():
        assert not (isinstance(value, float) and math.isnan(value)), key
    # Tails from fewer than 100 samples are published as maxima, never as p99.
    assert figures["overhead_ms_samples"] < 100 and "overhead_ms_p99" not in figures
    # The gate that should catch a crash after readiness ran and caught it; the pipeline never rolled back.
    (verdict,) = figures["late_crash_verdicts"]
    assert (
        verdict.startswith("RolledBack after Deploying -> Verifying") and "post gate pods failed" in verdict
    )
    assert figures["baseline_late_crash_rolled_back"] == "0 of 1"
    assert figures["throughput_overlaps"] == 0 and figures["cpu_cost_overlaps"] == 0
    assert figures["command"] and figures["commit"] and figures["pod_timings"]["time_scale"] == 0.1
    assert "baseline: queue poll" in result.stdout
