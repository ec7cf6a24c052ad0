"""Finished requests over --finished-history-limit are deleted, decided from the cluster alone (so also right after a
restart), and the last good releases, git-managed and unfinished requests are kept."""

from __future__ import annotations

import time
from typing import Any

import pytest

from deployreq.api.times import rfc3339_ms
from tests.system.harness import GROUP, PLURAL, VERSION, Namespace, OperatorProcess, wait_for

pytestmark = pytest.mark.system
OPERATOR_ARGS = ("--finished-history-limit", "1")


def _finished(ns: Namespace, name: str, phase: str, completed: str, **labels: str) -> None:
    """A request as the operator leaves it when it ended (written while no operator runs)."""
    ns.request(name, {"app": "registry.example/web:1.1"})
    if labels:
        ns.patch(name, {"metadata": {"labels": labels}})
    ns.custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        ns.name,
        PLURAL,
        name,
        {"status": {"phase": phase, "completedAt": completed, "observedGeneration": 1}},
    )


def ended(second: int) -> str:
    """A completion time ``second`` seconds into the last minute (well inside --finished-ttl)."""
    return rfc3339_ms(time.time() - 60 + second)


def _names(ns: Namespace) -> set[str]:
    listing: Any = ns.custom.list_namespaced_custom_object(GROUP, VERSION, ns.name, PLURAL)
    return {item["metadata"]["name"] for item in listing["items"]}


def test_finished_requests_over_the_limit_are_deleted_after_a_restart(
    operator: OperatorProcess, ns: Namespace
) -> None:
    ns.deployment()
    operator.kill()
    try:
        _finished(ns, "good-1", "Succeeded", ended(1))
        _finished(ns, "good-2", "Succeeded", ended(2))
        _finished(ns, "good-3", "Succeeded", ended(3))
        _finished(ns, "failed-1", "Failed", ended(4))
        _finished(ns, "git", "Failed", ended(5), **{"app.kubernetes.io/instance": "shop"})
        _finished(ns, "failed-2", "RolledBack", ended(6))
    finally:
        operator.start()
    # Kept: the newest finished one (failed-2), the two newest successes, and the one git manages.
    kept = wait_for(lambda: _names(ns), lambda names: len(names) == 4, 30 * ns.slow, "pruning")
    assert kept == {"good-2", "good-3", "git", "failed-2"}
    # A request that ends later prunes again: failed-2 goes, the new one stays.
    ns.request("invalid", {"nosuch": "registry.example/web:1.2"})
    assert ns.wait_phase("invalid")["status"]["phase"] == "Failed"
    kept = wait_for(lambda: _names(ns), lambda names: "failed-2" not in names, 30 * ns.slow, "pruning again")
    assert kept == {"good-2", "good-3", "git", "invalid"}
