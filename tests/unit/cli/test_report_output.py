"""deployreq report's printing, without a cluster: --since, the table's columns and its notes, JSON keys."""

from __future__ import annotations

import argparse
import json
import re

import pytest

from deployreq.cli.report import since_arg, table
from deployreq.decide import report
from tests.unit.decide.test_report import T0, body, runs


def test_since_takes_durations_days_and_times() -> None:
    assert since_arg("24h").start(T0) == T0 - 86400
    assert since_arg("7d").start(T0) == T0 - 7 * 86400
    assert since_arg("1d12h").start(T0) == T0 - 36 * 3600
    assert since_arg("2026-11-30T00:00:00Z").start(T0) == 1795996800.0
    with pytest.raises(argparse.ArgumentTypeError, match="RFC 3339"):
        since_arg("yesterday")


def sample() -> report.Report:
    data = runs(
        body("ok", "Succeeded", created=0, started=1, completed=11),
        body("bad", "RolledBack", created=20, started=21, completed=40, detected=30),
        body(
            "gate",
            "Failed",
            ns="b",
            deployment="api",
            created=5,
            completed=6,
            patched=False,
            reason="GateFailed",
        ),
    )
    return report.compute(data, now=T0 + 86400)


def test_the_table_has_a_row_per_workload_namespace_and_total_in_aligned_columns() -> None:
    lines = table(sample())
    assert lines[0].startswith("Requests that ended from ")
    rows = lines[1:6]
    assert [r.split()[:2] for r in rows[1:]] == [
        ["a", "Deployment/web"],
        ["a", "*"],
        ["b", "Deployment/api"],
        ["b", "*"],
    ]
    starts = {m.start() for m in re.finditer(r"\S+", rows[0])}
    assert {m.start() for m in re.finditer(r"\S+", rows[2])} <= starts
    total = lines[6].split()
    assert total[:7] == ["TOTAL", "3", "1", "1", "1", "33.3%", "50.0%"]
    assert "Failed in b by cause: GateFailed 1" in lines


def test_json_is_what_the_report_holds() -> None:
    out = json.loads(json.dumps(report.as_json(sample())))
    assert out["total"]["time_to_restore_mean_seconds"] == 10.0
    assert [n["namespace"] for n in out["namespaces"]] == ["a", "b"]
    assert out["workloads"][0] == {
        **out["workloads"][0],
        "namespace": "a",
        "kind": "Deployment",
        "workload": "web",
    }


def test_status_shows_why_a_request_ended_and_its_degraded_time() -> None:
    from deployreq.cli.status import describe

    obj = body(
        "bad",
        "RolledBack",
        completed=9,
        reason="RolledBack",
        availability={"degradedSeconds": 4.5, "downSeconds": 1},
    )
    lines = describe(obj).splitlines()
    assert "Reason:       RolledBack" in lines
    assert "Degraded:     4.5s (down 1.0s)" in lines
