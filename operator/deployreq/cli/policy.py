"""``deployreq policy``: each DeployPolicy, the namespaces it selects, its active requests against its budget, and
whether requests may start now (its windows and freezes), computed from the cluster as the operator would judge it.

Computed here, on the client, so that it works without the operator; the operator writes the same view into each
policy's status for ``kubectl get deploypolicies`` (decide/policy_status.py, docs/policy.md)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from deployreq.api import names
from deployreq.api import policy as api
from deployreq.api.model import Priority
from deployreq.api.policy import DeployPolicy
from deployreq.api.request import Request
from deployreq.api.times import rfc3339
from deployreq.cli.common import ClientCommand, Obj, say
from deployreq.cluster import kube
from deployreq.decide import policy as rules

HEADER = ("NAME", "NAMESPACES", "ACTIVE", "NOW")


def _selected(policy: DeployPolicy, namespaces: list[Obj]) -> list[str]:
    return sorted(
        str(ns["metadata"]["name"])
        for ns in namespaces
        if rules.selects(policy.spec.namespace_selector, (ns["metadata"].get("labels") or {}))
    )


def _now_cell(policy: DeployPolicy, now: float) -> str:
    """May a normal request start now, and if not, why and when."""
    at = rules.parse_instant(now)
    rule = rules.may_start([policy], at, Priority.NORMAL)
    if rule.allowed:
        opening = rules.next_opening(policy.spec.windows, at)
        if not policy.spec.windows:
            return "open (no windows)"
        return "open" + (f"; next window opens {rfc3339(opening.timestamp())}" if opening else "")
    return "held: " + rule.message


def policy_rows(
    policies: list[Obj], namespaces: list[Obj], requests: list[Obj], now: float
) -> list[tuple[str, ...]]:
    """One row per policy, by name; an invalid one says so and why (the operator ignores it)."""
    active: dict[str, int] = {}
    for obj in requests:
        req = Request.parse(obj)
        if req.active:
            active[req.namespace] = active.get(req.namespace, 0) + 1
    rows: list[tuple[str, ...]] = []
    for body in sorted(policies, key=lambda b: str(b["metadata"]["name"])):
        parsed = api.parse(body)
        if isinstance(parsed, str):
            rows.append((str(body["metadata"]["name"]), "-", "-", f"INVALID, ignored: {parsed}"))
            continue
        selected = _selected(parsed, namespaces)
        running = sum(active.get(ns, 0) for ns in selected)
        budget = parsed.spec.max_concurrent
        rows.append(
            (
                parsed.name,
                ",".join(selected) or "(none)",
                f"{running}/{budget}" if budget is not None else str(running),
                _now_cell(parsed, now),
            )
        )
    return rows


def policy_table(rows: list[tuple[str, ...]]) -> list[str]:
    every: list[tuple[str, ...]] = [HEADER, *rows]
    widths = [max(len(r[i]) for r in every) for i in range(len(HEADER) - 1)]
    return [
        "   ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "   " + row[-1] for row in every
    ]


async def cmd_policy(client: kube.Kube, emit: Callable[[str], None] = say, now: float | None = None) -> int:
    group = f"/apis/{names.GROUP}/{names.VERSION}"
    policies = (await client.get(f"{group}/{names.POLICY_PLURAL}")).get("items") or []
    if not policies:
        emit("No DeployPolicies: every namespace runs without windows, freezes, budgets or limits.")
        return 0
    namespaces = (await client.get("/api/v1/namespaces")).get("items") or []
    requests = (await client.get(f"{group}/{names.PLURAL}")).get("items") or []
    for line in policy_table(
        policy_rows(policies, namespaces, requests, time.time() if now is None else now)
    ):
        emit(line)
    return 0


def _configure(p: argparse.ArgumentParser) -> None:
    del p  # cluster-wide: no flags of its own


async def _run(client: kube.Kube, namespace: str, args: argparse.Namespace) -> int:
    return await cmd_policy(client)


COMMAND = ClientCommand(
    "policy",
    "show each DeployPolicy: the namespaces it selects, active requests against its budget, whether requests "
    "may start now, computed on the client (kubectl get deploypolicies shows the status the operator writes; "
    "docs/policy.md)",
    _configure,
    _run,
)
