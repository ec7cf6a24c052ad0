"""Problems with a request that the schema cannot see, found against the live Deployment."""

from __future__ import annotations

from typing import Any


def check_against_deployment(spec: dict[str, Any], deployment: dict[str, Any]) -> list[str]:
    """User-facing messages, each saying what to fix; empty when the request fits the Deployment."""
    containers = [
        str(c.get("name"))
        for c in (((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers")
        or []
    ]
    problems = []
    name = deployment.get("metadata", {}).get("name", "")
    for item in spec.get("images") or []:
        container = str(item.get("container"))
        if container not in containers:
            problems.append(
                f'Deployment "{name}" has no container "{container}" (its containers: '
                f"{', '.join(containers) or 'none'}); fix spec.images"
            )
    return problems
