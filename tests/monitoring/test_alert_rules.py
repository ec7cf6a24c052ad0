"""``promtool test rules`` over every alert of manifests/monitoring/prometheusrule.yaml (the real promtool, Debian's
prometheus package): each alert fires when it should and not otherwise, and each test can fail."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.prometheus import require_prometheus

ROOT = Path(__file__).resolve().parents[2]
RULE = ROOT / "manifests" / "monitoring" / "prometheusrule.yaml"
TESTS = Path(__file__).with_name("alert_rules_test.yaml")


def rule_groups() -> dict[str, Any]:
    """The PrometheusRule's spec as a plain Prometheus rule file."""
    return {"groups": yaml.safe_load(RULE.read_text())["spec"]["groups"]}


def alerts() -> list[str]:
    return [r["alert"] for g in rule_groups()["groups"] for r in g["rules"] if "alert" in r]


def promtool_test(tmp_path: Path, groups: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    _, promtool = require_prometheus()
    (tmp_path / "deployreq.rules.yaml").write_text(yaml.safe_dump(groups, sort_keys=False))
    shutil.copy(TESTS, tmp_path / TESTS.name)
    return subprocess.run(
        [promtool, "test", "rules", TESTS.name],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_rules_are_valid_for_promtool(tmp_path: Path) -> None:
    _, promtool = require_prometheus()
    path = tmp_path / "deployreq.rules.yaml"
    path.write_text(yaml.safe_dump(rule_groups(), sort_keys=False))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_when_it_should_and_not_otherwise(tmp_path: Path) -> None:
    result = promtool_test(tmp_path, rule_groups())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    cases = [c for t in yaml.safe_load(TESTS.read_text())["tests"] for c in t.get("alert_rule_test") or []]
    for alert in alerts():
        mine = [c for c in cases if c["alertname"] == alert]
        assert any(c["exp_alerts"] for c in mine), f"{alert}: no case where it fires"
        assert any(not c["exp_alerts"] for c in mine), f"{alert}: no case where it stays quiet"


@pytest.mark.parametrize("alert", alerts())
def test_an_alert_that_never_fired_would_fail_its_test(tmp_path: Path, alert: str) -> None:
    groups = copy.deepcopy(rule_groups())
    for group in groups["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["expr"] = "vector(1) < 0"
    result = promtool_test(tmp_path, groups)
    assert result.returncode != 0
    assert alert in result.stdout + result.stderr
