"""The CI-facing commands of ``deployreq`` (and ``kubectl deployreq``): apply, create, rollback, rerun, status, queue.

Each is an async function over an API client, printing to stdout and returning an exit code (0 Succeeded or done,
1 another terminal phase, 2 a usage error or a wait_seconds, with a one-line reason on stderr).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from deployreq import errors
from deployreq.api import names
from deployreq.api.names import RERUN_ANNOTATION
from deployreq.api.phases import ACTIVE, WAITING, Phase
from deployreq.cli.follow import EXIT_USAGE, HEARTBEAT_SECONDS, Progress, Target, follow
from deployreq.cluster import kube
from deployreq.cluster.lease import LEASE_NAME, holder_of
from deployreq.decide import rollback, rollout
from deployreq.decide.queue import PRIORITY_RANK
from deployreq.durations import format_seconds

Obj = dict[str, Any]


def fail(message: str) -> int:
    print(f"deployreq: {message}", file=sys.stderr)
    return EXIT_USAGE


def say(text: str) -> None:
    print(text, flush=True)


async def _wait_all(
    client: kube.Kube, targets: list[Target], wait_seconds: float, progress_seconds: float = HEARTBEAT_SECONDS
) -> int:
    """Follow each target in turn; ``progress_seconds``: a progress line in logs after this long without one."""
    worst = 0
    deadline = time.monotonic() + wait_seconds
    width = max([24, *(len(t.name) for t in targets)])
    for target in targets:
        remaining = deadline - time.monotonic()
        progress = Progress.for_stream(sys.stdout, heartbeat=progress_seconds, name_width=width)
        code = await follow(client, target, remaining, progress)
        if code == EXIT_USAGE:
            return fail(
                f"timed out after {format_seconds(wait_seconds)} waiting for deploymentrequest/{target.name} to end"
            )
        worst = max(worst, code)
    return worst


async def apply_objects(client: kube.Kube, docs: list[Obj], namespace: str) -> list[Target]:
    """Create or update each request; the targets to wait for (the generation each must answer)."""
    targets = []
    for doc in docs:
        if doc.get("kind") != names.KIND or not str(doc.get("apiVersion", "")).startswith(names.GROUP):
            raise ValueError(
                f"only DeploymentRequests ({names.API_VERSION}) can be applied, not {doc.get('kind')!r}"
            )
        meta = doc.setdefault("metadata", {})
        name = meta.get("name")
        if not name:
            raise ValueError("a DeploymentRequest needs metadata.name")
        ns = meta.get("namespace") or namespace
        meta["namespace"] = ns
        existing = await client.get_or_none(kube.request_path(ns, name))
        if existing is None:
            result = await client.create(kube.request_path(ns), doc)
            say(f"deploymentrequest.{names.GROUP}/{name} created")
        else:
            patch = {
                "metadata": {k: meta[k] for k in ("labels", "annotations") if k in meta},
                "spec": doc.get("spec"),
            }
            result = await client.patch(kube.request_path(ns, name), patch)
            changed = result["metadata"].get("generation") != existing["metadata"].get("generation")
            say(f"deploymentrequest.{names.GROUP}/{name} {'configured' if changed else 'unchanged'}")
        targets.append(Target(ns, name, int(result["metadata"].get("generation") or 1)))
    return targets


def load_documents(path: str) -> list[Obj]:
    text = sys.stdin.read() if path == "-" else open(path).read()  # noqa: SIM115
    docs = [d for d in yaml.safe_load_all(text) if d]
    out: list[Obj] = []
    for doc in docs:
        if doc.get("kind") == "List":
            out.extend(doc.get("items") or [])
        else:
            out.append(doc)
    return out


async def cmd_apply(
    client: kube.Kube,
    namespace: str,
    path: str,
    wait: bool,
    wait_seconds: float,
    progress_seconds: float = HEARTBEAT_SECONDS,
) -> int:
    try:
        docs = load_documents(path)
        targets = await apply_objects(client, docs, namespace)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        return fail(str(exc))
    except errors.ApiError as exc:
        return fail(exc.message)
    if not targets:
        return fail(f"no DeploymentRequest in {path}")
    return await _wait_all(client, targets, wait_seconds, progress_seconds) if wait else 0


def parse_images(values: list[str]) -> list[dict[str, str]]:
    images = []
    for value in values:
        container, sep, image = value.partition("=")
        if not sep or not container or not image:
            raise ValueError(f"--image takes CONTAINER=IMAGE, got {value!r}")
        images.append({"container": container, "image": image})
    return images


async def cmd_create(
    client: kube.Kube,
    namespace: str,
    name: str,
    deployment: str,
    images: list[str],
    priority: str,
    verify: int | None,
    wait: bool,
    wait_seconds: float,
    progress_seconds: float = HEARTBEAT_SECONDS,
) -> int:
    try:
        spec: Obj = {"deployment": deployment, "images": parse_images(images), "priority": priority}
    except ValueError as exc:
        return fail(str(exc))
    if verify is not None:
        spec["verification"] = {"durationSeconds": verify}
    doc = {
        "apiVersion": names.API_VERSION,
        "kind": names.KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    return await _submit(client, namespace, name, doc, wait, wait_seconds, progress_seconds)


async def _submit(
    client: kube.Kube,
    namespace: str,
    name: str,
    doc: dict[str, Any],
    wait: bool,
    wait_seconds: float,
    progress_seconds: float,
) -> int:
    """Create the request ``doc`` and, with ``wait``, follow it to its outcome (the exit code)."""
    try:
        result = await client.create(kube.request_path(namespace), doc)
    except errors.ApiError as exc:
        return fail(exc.message)
    say(f"deploymentrequest.{names.GROUP}/{name} created")
    if not wait:
        return 0
    return await _wait_all(
        client,
        [Target(namespace, name, int(result["metadata"].get("generation") or 1))],
        wait_seconds,
        progress_seconds,
    )


async def cmd_rollback(
    client: kube.Kube,
    namespace: str,
    deployment: str,
    choice: RollbackChoice,
    wait: bool,
    wait_seconds: float,
    name: str | None,
    progress_seconds: float = HEARTBEAT_SECONDS,
) -> int:
    """An urgent request restoring the last good images (or a named request's, or a revision's), through the queue.

    What will be restored is printed before anything is created; ``choice.dry_run`` stops there.
    """
    try:
        dep = await client.get(kube.deployment_path(namespace, deployment))
    except errors.NotFound:
        return fail(f'deployment "{deployment}" not found in namespace "{namespace}"')
    running = rollback.images_of((dep.get("spec") or {}).get("template") or {})
    try:
        good = await _rollback_target(client, namespace, deployment, dep, running, choice)
    except rollback.NothingToRestore as exc:
        say(f"deployreq: {exc}")
        return 0
    except rollback.UndoError as exc:
        return fail(str(exc))
    say(f"deployment/{deployment} runs " + _images_text({c: running.get(c, "") for c in good.images}))
    say(f"rollback restores {good.source}: {_images_text(good.images)}")
    if all(running.get(c) == i for c, i in good.images.items()):
        say(f"deployment/{deployment} already runs these images; nothing to roll back")
        return 0
    if choice.dry_run:
        return 0
    name = name or f"rollback-{deployment}-{int(time.time())}"
    annotations = {"deployreq.dev/rollback-from": good.source}
    if choice.to_request:
        annotations["deployreq.dev/rollback-to-request"] = choice.to_request
    if choice.to_revision or choice.undo:
        annotations["deployreq.dev/rollback-to-revision"] = good.source.split()[-1]
    doc = {
        "apiVersion": names.API_VERSION,
        "kind": names.KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"deployreq.dev/rollback-of": deployment},
            "annotations": annotations,
        },
        "spec": {
            "deployment": deployment,
            "priority": "urgent",
            "images": [{"container": c, "image": i} for c, i in good.images.items()],
        },
    }
    return await _submit(client, namespace, name, doc, wait, wait_seconds, progress_seconds)


@dataclass(frozen=True)
class RollbackChoice:
    """What ``deployreq rollback`` restores: by default the last good images; or a request's; or a revision's
    (``undo``: the revision before the current one, exactly ``kubectl rollout undo``)."""

    to_request: str | None = None
    to_revision: int = 0
    undo: bool = False
    dry_run: bool = False


def _images_text(images: dict[str, str]) -> str:
    return ", ".join(f"{c}={i}" for c, i in sorted(images.items()))


async def _rollback_target(
    client: kube.Kube,
    namespace: str,
    deployment: str,
    dep: Obj,
    running: dict[str, str],
    choice: RollbackChoice,
) -> rollback.GoodImages:
    if choice.to_request:
        try:
            req = await client.get(kube.request_path(namespace, choice.to_request))
        except errors.NotFound:
            raise rollback.UndoError(
                f'deploymentrequest "{choice.to_request}" not found in namespace "{namespace}"'
            ) from None
        spec, status = req.get("spec") or {}, req.get("status") or {}
        if spec.get("deployment") != deployment:
            raise rollback.UndoError(
                f'deploymentrequest "{choice.to_request}" is for deployment "{spec.get("deployment")}", '
                f'not "{deployment}"'
            )
        images = {
            str(i["container"]): str(i["image"]) for i in status.get("images") or spec.get("images") or []
        }
        return rollback.GoodImages(
            images, f'request "{choice.to_request}" ({status.get("phase") or Phase.PENDING})'
        )
    if choice.to_revision or choice.undo:
        listing = await client.get(kube.replicasets_path(namespace))
        owned = [rs for rs in listing.get("items") or [] if rollout.controlled_by(rs, dep["metadata"]["uid"])]
        history = {rollback.revision_of(rs): rs for rs in owned}
        to_revision = choice.to_revision
        if to_revision:
            if to_revision not in history:
                raise rollback.UndoError(f"unable to find specified revision {to_revision} in history")
        else:
            current = rollback.revision_of(dep)
            older = sorted(r for r in history if r != current)
            if not older:
                raise rollback.UndoError(f'no rollout history found for deployment "{deployment}"')
            to_revision = older[-1]
        template = (history[to_revision].get("spec") or {}).get("template") or {}
        return rollback.GoodImages(rollback.images_of(template), f"revision {to_revision}")
    listing = await client.get(kube.request_path(namespace))
    return rollback.last_good_images(listing.get("items") or [], deployment, running)


async def cmd_rerun(
    client: kube.Kube,
    namespace: str,
    name: str,
    wait: bool,
    wait_seconds: float,
    progress_seconds: float = HEARTBEAT_SECONDS,
) -> int:
    value = str(int(time.time() * 1000))
    try:
        result = await client.patch(
            kube.request_path(namespace, name), {"metadata": {"annotations": {RERUN_ANNOTATION: value}}}
        )
    except errors.NotFound:
        return fail(f'deploymentrequest "{name}" not found in namespace "{namespace}"')
    say(f"deploymentrequest.{names.GROUP}/{name} re-run requested ({RERUN_ANNOTATION}={value})")
    if not wait:
        return 0
    target = Target(namespace, name, int(result["metadata"].get("generation") or 1), rerun=value)
    return await _wait_all(client, [target], wait_seconds, progress_seconds)


def describe(obj: Obj) -> str:
    spec, status, meta = obj.get("spec") or {}, obj.get("status") or {}, obj.get("metadata") or {}
    lines = [
        f"Name:         {meta.get('name')}",
        f"Namespace:    {meta.get('namespace')}",
        f"Deployment:   {spec.get('deployment')}",
        "Images:       " + ", ".join(f"{i['container']}={i['image']}" for i in spec.get("images") or []),
        f"Priority:     {spec.get('priority', 'normal')}",
        f"Phase:        {status.get('phase', Phase.PENDING.value)}",
        f"Position:     {status.get('queuePosition') or '-'}",
        f"Attempt:      {status.get('attempt') or '-'}",
        f"Revision:     {status.get('previousRevision') or '-'} -> {status.get('revision') or '-'}",
        f"Message:      {status.get('message') or ''}",
    ]
    if status.get("nextAttemptAt") and status.get("phase") in WAITING:
        lines.insert(-1, f"Next attempt: {status['nextAttemptAt']}")
    gates = status.get("gates") or []
    if gates:
        lines.append("Gates:")
        for gate in gates:
            lines.append(
                f"  {gate.get('stage')}/{gate.get('name')} ({gate.get('kind')}): {gate.get('phase')} "
                f"ok={gate.get('consecutiveSuccesses', 0)} fail={gate.get('consecutiveFailures', 0)} "
                f"{gate.get('lastError') or gate.get('lastValue') or ''}".rstrip()
            )
    history = status.get("history") or []
    if history:
        lines.append("History:")
        lines.extend(f"  {h.get('time')}  {h.get('phase'):<12} {h.get('message') or ''}" for h in history)
    conditions = status.get("conditions") or []
    if conditions:
        lines.append("Conditions:")
        lines.extend(f"  {c.get('type'):<12} {c.get('status'):<8} {c.get('reason', '')}" for c in conditions)
    return "\n".join(lines)


async def cmd_status(client: kube.Kube, namespace: str, name: str) -> int:
    try:
        obj = await client.get(kube.request_path(namespace, name))
    except errors.NotFound:
        return fail(f'deploymentrequest "{name}" not found in namespace "{namespace}"')
    say(describe(obj))
    return 0


def queue_rows(requests: list[Obj]) -> list[Obj]:
    """Active first, then waiting in run order; finished requests are left out."""

    def key(obj: Obj) -> tuple[int, int, str, str]:
        status = obj.get("status") or {}
        phase = status.get("phase") or Phase.PENDING
        active = 0 if phase in ACTIVE else 1
        return (
            active,
            PRIORITY_RANK.get((obj.get("spec") or {}).get("priority", "normal"), 2),
            obj["metadata"].get("creationTimestamp", ""),
            obj["metadata"]["name"],
        )

    live = [
        o for o in requests if ((o.get("status") or {}).get("phase") or Phase.PENDING) in WAITING | ACTIVE
    ]
    return sorted(live, key=key)


async def cmd_queue(client: kube.Kube, namespace: str | None, emit: Callable[[str], None] = say) -> int:
    path = (
        f"/apis/{names.GROUP}/{names.VERSION}/{names.PLURAL}"
        if namespace is None
        else kube.request_path(namespace)
    )
    listing = await client.get(path)
    by_ns: dict[str, list[Obj]] = {}
    for obj in listing.get("items") or []:
        by_ns.setdefault(obj["metadata"]["namespace"], []).append(obj)
    if namespace is not None:
        by_ns.setdefault(namespace, [])
    locks: dict[str, str] = {}
    rows: list[tuple[str, str, str, str, str, str]] = []
    for ns in sorted(by_ns):
        lease = await client.get_or_none(kube.lease_path(ns, LEASE_NAME))
        holder = holder_of(lease)
        if holder is not None:
            since = ((lease or {}).get("spec") or {}).get("acquireTime", "")
            locks[ns] = f"lock held by {holder.request} (operator {holder.operator}) since {since}"
        for obj in queue_rows(by_ns[ns]):
            status, spec = obj.get("status") or {}, obj.get("spec") or {}
            position = status.get("queuePosition") or (
                "active" if status.get("phase") not in WAITING else "-"
            )
            rows.append(
                (
                    ns,
                    str(position),
                    obj["metadata"]["name"],
                    str(spec.get("priority", "normal")),
                    str(status.get("phase") or Phase.PENDING),
                    str(spec.get("deployment")),
                )
            )
    if not rows and not locks:
        where = f"in namespace {namespace}" if namespace is not None else "in any namespace"
        emit(f"No requests waiting or running {where}.")
        return 0
    for line in queue_table(rows, locks):
        emit(line)
    return 0


def queue_table(rows: list[tuple[str, str, str, str, str, str]], locks: dict[str, str]) -> list[str]:
    """The queue as aligned columns (as wide as their longest value, as kubectl prints), lock lines per namespace."""
    header = ("NAMESPACE", "POSITION", "NAME", "PRIORITY", "PHASE", "DEPLOYMENT")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]

    def line(cells: tuple[str, ...]) -> str:
        return "   ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) + "   " + cells[-1]

    out = [line(header)]
    for ns in sorted({r[0] for r in rows} | set(locks)):
        if ns in locks:
            out.append(f"{ns.ljust(widths[0])}   {locks[ns]}")
        out.extend(line(r) for r in rows if r[0] == ns)
    return out
