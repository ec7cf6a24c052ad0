"""Every object that the kustomize overlays render validates against its Kubernetes schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import require_kubectl
from tests.system.harness import kubectl_binary

ROOT = Path(__file__).resolve().parents[3]
OVERLAYS = sorted(p.parent for p in (ROOT / "manifests").rglob("kustomization.yaml"))
KUBERNETES_VERSION = "1.32"


def render(directory: Path) -> list[dict[str, Any]]:
    import subprocess

    binary = kubectl_binary()
    assert binary is not None
    result = subprocess.run(
        [binary, "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_rendered_object_is_valid(overlay: Path) -> None:
    require_kubectl()
    objects = render(overlay)
    assert objects
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.utils.SchemaNotFoundError:
            continue  # custom resources (ServiceMonitor, PrometheusRule, ...) have no built-in schema
        except kubernetes_validate.utils.ValidationError as exc:
            pytest.fail(
                f"{obj['kind']}/{obj['metadata']['name']} in {overlay}: {exc.message} at "
                f"{'.'.join(str(p) for p in exc.path)}"
            )


def test_the_operator_pod_is_restricted() -> None:
    require_kubectl()
    deployment = next(
        o for o in render(ROOT / "manifests" / "overlays" / "single") if o["kind"] == "Deployment"
    )
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert container["livenessProbe"] and container["readinessProbe"]


def test_the_cluster_role_has_no_wildcards() -> None:
    require_kubectl()
    role = next(o for o in render(ROOT / "manifests" / "overlays" / "single") if o["kind"] == "ClusterRole")
    for rule in role["rules"]:
        for key in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[key], rule


def _rules(overlay: str) -> list[dict[str, object]]:
    docs = render(ROOT / "manifests" / "overlays" / overlay)
    return [rule for o in docs if o["kind"] == "ClusterRole" for rule in o["rules"]]


def test_only_the_service_proxy_overlay_grants_the_proxy_and_endpoints() -> None:
    require_kubectl()
    for overlay in ("single", "ha"):
        resources = {r for rule in _rules(overlay) for r in rule["resources"]}  # type: ignore[attr-defined]
        assert not resources & {"services/proxy", "endpoints"}, overlay
    proxied = _rules("single-service-proxy")
    assert {"resources": ["services/proxy"], "verbs": ["get", "create"], "apiGroups": [""]} in proxied
    assert {"resources": ["endpoints"], "verbs": ["get"], "apiGroups": [""]} in proxied
    deployment = next(
        o
        for o in render(ROOT / "manifests" / "overlays" / "single-service-proxy")
        if o["kind"] == "Deployment"
    )
    assert "--gate-service-transport=proxy" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]


def test_lease_rights_name_the_lock_except_create() -> None:
    require_kubectl()
    lease_rules = [r for r in _rules("single") if "leases" in r["resources"]]  # type: ignore[operator]
    assert lease_rules == [
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["deployreq-lock"],
            "verbs": ["get", "update"],
        },
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
    ]


def test_alerts_and_dashboard_only_use_metrics_the_operator_exports() -> None:
    import re

    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from deployreq.observe.metrics import Metrics

    exported = set()
    for family in text_string_to_metric_families(generate_latest(Metrics().registry).decode()):
        exported.update(sample.name for sample in family.samples)
        exported.add(family.name)
        # A family with labels that vary (namespace) has no samples until the first request ends.
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}.get(family.type, ())
        exported.update(family.name + suffix for suffix in suffixes)
    for path in ("manifests/monitoring/prometheusrule.yaml", "manifests/monitoring/deployreq-dashboard.json"):
        used = set(re.findall(r"deployreq_[a-z_]+", (ROOT / path).read_text()))
        assert used, path
        assert used <= exported, f"{path} uses unknown metrics: {sorted(used - exported)}"
