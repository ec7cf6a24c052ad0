"""Problems with a request that the schema cannot see, found against the live Deployment."""

from __future__ import annotations

from collections import Counter
from typing import Any


def _names(pod_spec: dict[str, Any], key: str) -> list[str]:
    return [str(c.get("name")) for c in pod_spec.get(key) or []]


def check_against_deployment(spec: dict[str, Any], deployment: dict[str, Any]) -> list[str]:
    """User-facing messages, each saying what to fix; empty when the request fits the Deployment."""
    pod_spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = _names(pod_spec, "containers")
    init_containers = set(_names(pod_spec, "initContainers"))
    name = deployment.get("metadata", {}).get("name", "")
    requested = [str(item.get("container")) for item in spec.get("images") or []]
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
