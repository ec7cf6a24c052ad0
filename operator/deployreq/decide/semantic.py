"""Problems with a request that the schema cannot see: against the live Deployment, and against the operator's
limits."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from deployreq.api.model import DeploymentRequestSpec


@dataclass(frozen=True)
class Limits:
    """How long one request may hold its namespace's queue, as the operator's flags set it."""

    max_verification_seconds: float = 3600.0
    """``--max-verification``: the longest ``verification.durationSeconds`` accepted."""

    max_rollout_timeout_seconds: float = 3600.0
    """``--max-rollout-timeout``: the longest ``rollout.timeoutSeconds`` accepted."""


def over_limits(spec: DeploymentRequestSpec, limits: Limits) -> list[str]:
    """User-facing messages naming the flag for each limit the request asks beyond; empty when within."""
    verification = spec.verification.duration_seconds
    rollout = spec.rollout.timeout_seconds
    problems = []
    if verification > limits.max_verification_seconds:
        problems.append(
            f"spec.verification.durationSeconds is {verification}, over this operator's limit of "
            f"{limits.max_verification_seconds:g} (--max-verification); ask for less or have the limit raised"
        )
    if rollout > limits.max_rollout_timeout_seconds:
        problems.append(
            f"spec.rollout.timeoutSeconds is {rollout}, over this operator's limit of "
            f"{limits.max_rollout_timeout_seconds:g} (--max-rollout-timeout); ask for less or have the limit raised"
        )
    return problems


def _names(pod_spec: dict[str, Any], key: str) -> list[str]:
    return [str(c.get("name")) for c in pod_spec.get(key) or []]


def check_against_deployment(spec: DeploymentRequestSpec, deployment: dict[str, Any]) -> list[str]:
    """User-facing messages, each saying what to fix; empty when the request fits the Deployment."""
    pod_spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = _names(pod_spec, "containers")
    init_containers = set(_names(pod_spec, "initContainers"))
    name = deployment.get("metadata", {}).get("name", "")
    requested = [item.container for item in spec.images or []]
    problems = [
        f'container "{container}" is listed {count} times in spec.images; list each container once'
        for container, count in Counter(requested).items()
        if count > 1
    ]
    for container in dict.fromkeys(requested):
        if container in containers:
            continue
        hint = " (it is an init container; deployreq sets only the images of regular containers)"
        problems.append(
            f'Deployment "{name}" has no container "{container}"'
            f"{hint if container in init_containers else ''} (its containers: "
            f"{', '.join(containers) or 'none'}); fix spec.images"
        )
    return problems
