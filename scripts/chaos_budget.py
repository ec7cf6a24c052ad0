"""The DeployPolicy budget under chaos (issue 19): a policy with ``maxConcurrent`` over the run's namespaces, and the
invariant that never more requests are active at once across them, checked from the audit trail.

A request is active from the accepted status write that enters Checking, Deploying, Verifying or RollingBack to the
one that leaves them, in the order the writes took effect (kubesim's trail, or the real API server's audit log,
whose status writes carry no revision: ordered by when they took effect). The operator takes a budget slot before
that first write and frees it after the last, so an overlap beyond the budget is a slot held twice.
"""

from __future__ import annotations

from typing import Any

POLICY = "chaos-budget"
LABEL = "chaos.deployreq.dev/budget"
ACTIVE = {"Checking", "Deploying", "Verifying", "RollingBack"}
LEASE_NAMESPACE = "deployreq-system"
"""Where the operators keep the slot Leases (their default --leader-election-namespace)."""


def budget_of(namespaces: int) -> int:
    """Half the namespaces (at least one): requests wait for the budget, and more than one runs at once."""
    return max(1, namespaces // 2)


def install(api: Any, namespaces: list[str], size: int) -> None:
    """The operators' namespace, the namespaces labelled, and the policy selecting them with a budget of ``size``."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    try:
        core.create_namespace({"metadata": {"name": LEASE_NAMESPACE}})
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    for name in namespaces:
        core.patch_namespace(name, {"metadata": {"labels": {LABEL: "yes"}}})
    body = {
        "apiVersion": "deployreq.dev/v1alpha1",
        "kind": "DeployPolicy",
        "metadata": {"name": POLICY},
        "spec": {"namespaceSelector": {"matchLabels": {LABEL: "yes"}}, "maxConcurrent": size},
    }
    client.CustomObjectsApi(api).create_cluster_custom_object(
        "deployreq.dev", "v1alpha1", "deploypolicies", body
    )


def _effective(record: dict[str, Any]) -> float:
    return float(record["time"]) + float(record.get("duration_ms") or 0) / 1000


def _phase(record: dict[str, Any]) -> str:
    body = record.get("requestObject")
    status = (body.get("status") or {}) if isinstance(body, dict) else {}
    return str(status.get("phase") or "")


def check(audit: list[dict[str, Any]], namespaces: set[str], size: int) -> tuple[list[str], int]:
    """Violations of the budget of ``size`` over ``namespaces``, and the most requests seen active at once."""
    writes = [
        r
        for r in audit
        if int(r.get("code") or 0) < 300
        and r.get("verb") in ("patch", "update")
        and r.get("resource") == "deploymentrequests"
        and r.get("subresource") == "status"
        and r.get("namespace") in namespaces
        and _phase(r)
    ]
    phases: dict[tuple[str, str], str] = {}
    violations: list[str] = []
    most = 0
    for r in sorted(writes, key=_effective):
        phases[(str(r["namespace"]), str(r.get("name") or ""))] = _phase(r)
        active = sorted(f"{ns}/{name}" for (ns, name), phase in phases.items() if phase in ACTIVE)
        most = max(most, len(active))
        if len(active) > size:
            violations.append(
                f"budget of {size} ({POLICY}): {len(active)} requests active at {_effective(r):.3f}: {active}"
            )
    if most == 0:
        violations.append(
            f"no request of the budget's namespaces was seen active: the run proves nothing about {POLICY}"
        )
    return violations, most
