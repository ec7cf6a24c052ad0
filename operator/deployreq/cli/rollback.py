"""``deployreq rollback WORKLOAD``: an urgent request restoring the last good images of a Deployment (or of a
StatefulSet or DaemonSet: ``statefulset/NAME``) through the queue.

By default the images of the last Succeeded request; or a named request's (``--to-request``), a revision's
(``--to-revision``), or the revision before the current one (``--undo``, exactly ``kubectl rollout undo``). What will
be restored is printed before anything is created; ``--dry-run`` stops there.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from deployreq import errors
from deployreq.api import names
from deployreq.api.request import Request
from deployreq.cli.common import ClientCommand, Obj, Waiting, add_wait_flags, fail, request_doc, say, submit
from deployreq.cli.create import parse_workload
from deployreq.cluster import kube
from deployreq.decide import rollback, rollout, workloads


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


@dataclass(frozen=True)
class Workload:
    """The workload rolled back: ``kind`` as the API names it."""

    kind: str
    name: str

    @property
    def ref(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


async def cmd_rollback(
    client: kube.Kube,
    namespace: str,
    target: str | Workload,
    choice: RollbackChoice,
    waiting: Waiting,
    name: str | None,
) -> int:
    workload = target if isinstance(target, Workload) else Workload("Deployment", target)
    try:
        dep = await client.get(kube.workload_path(namespace, workload.kind, workload.name))
    except errors.NotFound:
        return fail(f'{workload.kind.lower()} "{workload.name}" not found in namespace "{namespace}"')
    running = rollback.images_of((dep.get("spec") or {}).get("template") or {})
    try:
        good = await _rollback_target(client, namespace, workload, dep, choice)
    except rollback.NothingToRestore as exc:
        say(f"deployreq: {exc}")
        return 0
    except rollback.UndoError as exc:
        return fail(str(exc))
    say(f"{workload.ref} runs " + _images_text({c: running.get(c, "") for c in good.images}))
    say(f"rollback restores {good.source}: {_images_text(good.images)}")
    if all(running.get(c) == i for c, i in good.images.items()):
        say(f"{workload.ref} already runs these images; nothing to roll back")
        return 0
    if choice.dry_run:
        return 0
    name = name or f"rollback-{workload.name}-{int(time.time())}"
    doc = _rollback_doc(namespace, name, workload, good, choice)
    return await submit(client, namespace, name, doc, waiting)


def _rollback_doc(
    namespace: str, name: str, workload: Workload, good: rollback.GoodImages, choice: RollbackChoice
) -> Obj:
    annotations = {"deployreq.dev/rollback-from": good.source}
    if choice.to_request:
        annotations["deployreq.dev/rollback-to-request"] = choice.to_request
    if choice.to_revision or choice.undo:
        annotations["deployreq.dev/rollback-to-revision"] = good.source.split()[-1]
    images = [{"container": c, "image": i} for c, i in good.images.items()]
    spec: Obj = {"priority": "urgent"}
    if workload.kind == "Deployment":
        spec.update(deployment=workload.name, images=images)
    else:
        spec["workloads"] = [{"kind": workload.kind, "name": workload.name, "images": images}]
    return request_doc(namespace, name, spec, {names.ROLLBACK_OF_LABEL: workload.name}, annotations)


async def _rollback_target(
    client: kube.Kube, namespace: str, workload: Workload, dep: Obj, choice: RollbackChoice
) -> rollback.GoodImages:
    if choice.to_request:
        return await _request_images(client, namespace, workload, choice.to_request)
    if choice.to_revision or choice.undo:
        return await _revision_images(client, namespace, workload, dep, choice.to_revision)
    listing = await client.get(kube.request_path(namespace))
    running = rollback.images_of((dep.get("spec") or {}).get("template") or {})
    return rollback.last_good_images(listing.get("items") or [], workload.name, running, workload.kind)


async def _request_images(
    client: kube.Kube, namespace: str, workload: Workload, request: str
) -> rollback.GoodImages:
    try:
        req = await client.get(kube.request_path(namespace, request))
    except errors.NotFound:
        raise rollback.UndoError(
            f'deploymentrequest "{request}" not found in namespace "{namespace}"'
        ) from None
    parsed = Request.parse(req)
    images = parsed.images_for(workload.kind, workload.name)
    if images is None:
        raise rollback.UndoError(
            f'deploymentrequest "{request}" is for {parsed.target or "nothing"}, not {workload.ref}'
        )
    return rollback.GoodImages(images[0], f'request "{request}" ({parsed.phase.value})')


async def _revision_images(
    client: kube.Kube, namespace: str, workload: Workload, obj: Obj, to_revision: int
) -> rollback.GoodImages:
    """The images of revision N (or of the one before the current one) as kubectl rollout history numbers them."""
    if workload.kind == "Deployment":
        listing = await client.get(kube.replicasets_path(namespace))
        owned = [rs for rs in listing.get("items") or [] if rollout.controlled_by(rs, obj["metadata"]["uid"])]
        history = {rollback.revision_of(rs): (rs.get("spec") or {}).get("template") or {} for rs in owned}
        current = rollback.revision_of(obj)
    else:
        listing = await client.get(f"/apis/apps/v1/namespaces/{namespace}/controllerrevisions")
        owned = workloads.owned_revisions(obj, listing.get("items") or [])
        history = {int(r.get("revision") or 0): workloads.revision_template(r) for r in owned}
        now = workloads.current_revision(obj, owned)
        current = int((now or {}).get("revision") or 0)
    if to_revision:
        if to_revision not in history:
            raise rollback.UndoError(f"unable to find specified revision {to_revision} in history")
    else:
        older = sorted(r for r in history if r != current)
        if not older:
            raise rollback.UndoError(
                f'no rollout history found for {workload.kind.lower()} "{workload.name}"'
            )
        to_revision = older[-1]
    return rollback.GoodImages(rollback.images_of(history[to_revision]), f"revision {to_revision}")


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "deployment",
        metavar="WORKLOAD",
        help="the Deployment (NAME or deployment/NAME), or statefulset/NAME or daemonset/NAME",
    )
    target = p.add_mutually_exclusive_group()
    target.add_argument(
        "--to-request", metavar="NAME", help="restore the images of this DeploymentRequest instead"
    )
    target.add_argument(
        "--to-revision",
        type=int,
        default=0,
        metavar="N",
        help="restore the images of the Deployment's revision N",
    )
    target.add_argument(
        "--undo",
        action="store_true",
        help="restore the revision before the current one, as plain `kubectl rollout undo` does (even a bad one)",
    )
    p.add_argument("--dry-run", action="store_true", help="only print what would be restored")
    p.add_argument("--name", help="the request's name (default rollback-<deployment>-<time>)")
    add_wait_flags(p)


async def _run(client: kube.Kube, namespace: str, args: argparse.Namespace) -> int:
    choice = RollbackChoice(args.to_request, args.to_revision, args.undo, args.dry_run)
    try:
        workload = Workload(*parse_workload(args.deployment))
    except ValueError as exc:
        return fail(str(exc).replace("--workload", "rollback"))
    return await cmd_rollback(client, namespace, workload, choice, Waiting.from_args(args), args.name)


COMMAND = ClientCommand(
    "rollback",
    "restore the last good images (those of the last Succeeded request) through the queue, urgently; "
    "what will be restored is printed first",
    _configure,
    _run,
)
