"""DeployPolicies the API server refuses at admission, each with a message saying what to fix (issue 19), on kubesim
and on the real control plane; and a valid one stored with its defaults."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import yaml

from tests.support.kubectl import require_kubectl
from tests.system.cluster import Cluster
from tests.system.harness import run_kubectl, table

pytestmark = pytest.mark.system


def _apply(cluster: Cluster, spec: dict[str, Any]) -> tuple[int, str, str]:
    name = f"p-{uuid.uuid4().hex[:8]}"
    doc = {"apiVersion": "deployreq.dev/v1alpha1", "kind": "DeployPolicy", "metadata": {"name": name}}
    result = run_kubectl(cluster.kubeconfig, "create", "-f", "-", input=yaml.safe_dump({**doc, "spec": spec}))
    if result.returncode == 0:
        run_kubectl(cluster.kubeconfig, "delete", "deploypolicy", name, "--wait=false")
    return result.returncode, result.stderr, name


WINDOW = {"days": ["Mon"], "start": "09:00", "end": "17:00"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"maxConcurrent": 1}, "spec.namespaceSelector: Required value"),
        (
            {"namespaceSelector": {}, "windows": [{**WINDOW, "start": "18:00"}]},
            "window end must be after start",
        ),
        ({"namespaceSelector": {}, "windows": [{**WINDOW, "end": "25:00"}]}, "spec.windows[0].end"),
        (
            {"namespaceSelector": {}, "windows": [{**WINDOW, "timeZone": "Berlin time"}]},
            "spec.windows[0].timeZone",
        ),
        (
            {"namespaceSelector": {}, "windows": [{**WINDOW, "timeZone": "Mars/Olympus"}]},
            'spec.windows[0].timeZone: Invalid value: "string": unknown time zone Mars/Olympus evaluating rule: '
            "timeZone must be an IANA time zone name such as Europe/Berlin or UTC",
        ),
        (
            {"namespaceSelector": {}, "windows": [{**WINDOW, "timeZone": "Local"}]},
            "timeZone must be an IANA time zone name",
        ),
        (
            {
                "namespaceSelector": {},
                "freezes": [{"start": "2026-12-27T00:00:00Z", "end": "2026-12-24T00:00:00Z"}],
            },
            "freeze end must be after start",
        ),
        (
            {"namespaceSelector": {"matchExpressions": [{"key": "tier", "operator": "In"}]}},
            "In and NotIn need at least one value",
        ),
        ({"namespaceSelector": {}, "maxConcurrent": 0}, "spec.maxConcurrent"),
    ],
    ids=[
        "no-selector",
        "end-before-start",
        "bad-time",
        "bad-zone",
        "unknown-zone",
        "local-zone",
        "freeze-backwards",
        "in-no-values",
        "zero",
    ],
)
def test_an_invalid_policy_is_refused_with_what_to_fix(
    cluster: Cluster, spec: dict[str, Any], message: str
) -> None:
    require_kubectl()
    code, stderr, _ = _apply(cluster, spec)
    assert code == 1
    assert message in stderr, stderr


def test_a_valid_policy_is_stored_with_its_defaults_and_listed(cluster: Cluster) -> None:
    require_kubectl()
    name = f"p-{uuid.uuid4().hex[:8]}"
    doc = {
        "apiVersion": "deployreq.dev/v1alpha1",
        "kind": "DeployPolicy",
        "metadata": {"name": name},
        "spec": {
            "namespaceSelector": {"matchLabels": {"tier": "prod"}},
            "maxConcurrent": 2,
            "windows": [WINDOW],
        },
    }
    created = run_kubectl(cluster.kubeconfig, "create", "-f", "-", input=yaml.safe_dump(doc))
    assert created.returncode == 0, created.stderr
    try:
        stored = json.loads(run_kubectl(cluster.kubeconfig, "get", "dpol", name, "-o", "json").stdout)
        assert stored["spec"]["windows"][0]["timeZone"] == "UTC"
        listed = run_kubectl(cluster.kubeconfig, "get", "deploypolicies")
        assert listed.returncode == 0, listed.stderr
        header = listed.stdout.splitlines()[0].split()
        assert header == ["NAME", "NAMESPACES", "ACTIVE", "MAX", "OPEN", "NEXT-WINDOW", "VALID", "AGE"]
        assert any(row["NAME"] == name and row["MAX"] == "2" for row in table(listed.stdout)), listed.stdout
    finally:
        run_kubectl(cluster.kubeconfig, "delete", "deploypolicy", name)
