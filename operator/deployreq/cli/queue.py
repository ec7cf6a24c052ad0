"""``deployreq queue [-A]``: the queues in run order and who holds each namespace's lock."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from deployreq.api import names
from deployreq.api.request import Request
from deployreq.cli.common import ClientCommand, Obj, say
from deployreq.cluster import kube
from deployreq.cluster.lease import LEASE_NAME, holder_of
from deployreq.decide.queue import PRIORITY_RANK

Row = tuple[str, str, str, str, str, str]


def queue_rows(requests: list[Obj]) -> list[Request]:
    """Active first, then waiting in run order; finished requests are left out."""

    def key(req: Request) -> tuple[int, int, str, str]:
        return (0 if req.active else 1, PRIORITY_RANK.get(req.priority, 2), req.created, req.name)

    parsed = (Request.parse(obj) for obj in requests)
    return sorted((r for r in parsed if r.active or r.waiting), key=key)


def _row(ns: str, req: Request) -> Row:
    position = req.status.queue_position or ("-" if req.waiting else "active")
    return (ns, str(position), req.name, req.priority, req.phase.value, req.deployment)


async def _lock_line(client: kube.Kube, ns: str) -> str | None:
    lease = await client.get_or_none(kube.lease_path(ns, LEASE_NAME))
    holder = holder_of(lease)
    if holder is None:
        return None
    since = ((lease or {}).get("spec") or {}).get("acquireTime", "")
    return f"lock held by {holder.request} (operator {holder.operator}) since {since}"


async def cmd_queue(client: kube.Kube, namespace: str | None, emit: Callable[[str], None] = say) -> int:
    path = (
        f"/apis/{names.GROUP}/{names.VERSION}/{names.PLURAL}"
        if namespace is None
        else kube.request_path(namespace)
    )
    listing = await client.get(path)
    by_ns: dict[str, list[Obj]] = {} if namespace is None else {namespace: []}
    for obj in listing.get("items") or []:
        by_ns.setdefault(obj["metadata"]["namespace"], []).append(obj)
    locks: dict[str, str] = {}
    rows: list[Row] = []
    holds: dict[tuple[str, str], str] = {}
    for ns in sorted(by_ns):
        lock = await _lock_line(client, ns)
        if lock is not None:
            locks[ns] = lock
        for req in queue_rows(by_ns[ns]):
            rows.append(_row(ns, req))
            if (
                req.waiting and req.status.held_by
            ):  # a DeployPolicy holds it: say which and why (docs/policy.md)
                holds[(ns, req.name)] = req.status.message or f"held by policy {req.status.held_by}"
    if not rows and not locks:
        where = f"in namespace {namespace}" if namespace is not None else "in any namespace"
        emit(f"No requests waiting or running {where}.")
        return 0
    for line in queue_table(rows, locks, holds):
        emit(line)
    return 0


def queue_table(
    rows: list[Row], locks: dict[str, str], holds: dict[tuple[str, str], str] | None = None
) -> list[str]:
    """The queue as aligned columns (as wide as their longest value, as kubectl prints), lock lines per namespace,
    and under a request a policy holds, why."""
    header = ("NAMESPACE", "POSITION", "NAME", "PRIORITY", "PHASE", "DEPLOYMENT")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]

    def line(cells: tuple[str, ...]) -> str:
        return "   ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) + "   " + cells[-1]

    out = [line(header)]
    for ns in sorted({r[0] for r in rows} | set(locks)):
        if ns in locks:
            out.append(f"{ns.ljust(widths[0])}   {locks[ns]}")
        for row in (r for r in rows if r[0] == ns):
            out.append(line(row))
            if holds and (ns, row[2]) in holds:
                out.append(f"{' ' * widths[0]}   {holds[(ns, row[2])]}")
    return out


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("-A", "--all-namespaces", action="store_true")


async def _run(client: kube.Kube, namespace: str, args: argparse.Namespace) -> int:
    return await cmd_queue(client, None if args.all_namespaces else namespace)


COMMAND = ClientCommand("queue", "show the queues in run order and who holds each lock", _configure, _run)
