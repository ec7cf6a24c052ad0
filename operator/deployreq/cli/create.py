"""``deployreq create NAME --deployment D --image C=I``: a DeploymentRequest without YAML; or of several workloads,
``--workload statefulset/worker --image app=I --workload daemonset/agent --image app=J`` (each ``--image`` belongs
to the ``--workload`` before it)."""

from __future__ import annotations

import argparse
from typing import Any

from deployreq.cli.common import ClientCommand, Obj, Waiting, add_wait_flags, fail, request_doc, submit
from deployreq.cluster import kube
from deployreq.durations import whole_seconds_arg


def parse_images(values: list[str]) -> list[dict[str, str]]:
    images = []
    for value in values:
        container, sep, image = value.partition("=")
        if not sep or not container or not image:
            raise ValueError(f"--image takes CONTAINER=IMAGE, got {value!r}")
        images.append({"container": container, "image": image})
    return images


KINDS = {
    "deployment": "Deployment",
    "deployments": "Deployment",
    "deploy": "Deployment",
    "statefulset": "StatefulSet",
    "statefulsets": "StatefulSet",
    "sts": "StatefulSet",
    "daemonset": "DaemonSet",
    "daemonsets": "DaemonSet",
    "ds": "DaemonSet",
}


def parse_workload(value: str) -> tuple[str, str]:
    """``statefulset/worker`` (kubectl's names and short names, any case; a bare name is a Deployment)."""
    kind, sep, name = value.rpartition("/")
    if not sep:
        return "Deployment", value
    if kind.lower() not in KINDS or not name:
        raise ValueError(f"--workload takes [deployment|statefulset|daemonset/]NAME, got {value!r}")
    return KINDS[kind.lower()], name


class _Ordered(argparse.Action):
    """Keeps --workload and --image in the order given (``args.ordered``), so each image finds its workload."""

    def __call__(self, parser: Any, namespace: argparse.Namespace, values: Any, option: Any = None) -> None:
        namespace.ordered = [*(getattr(namespace, "ordered", None) or []), (self.dest, values)]
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest, None) or []), values])


def workloads_of(ordered: list[tuple[str, str]]) -> list[Obj]:
    """spec.workloads from the --workload and --image flags in their order; ValueError says what is wrong."""
    workloads: list[Obj] = []
    for flag, value in ordered:
        if flag == "workload":
            kind, name = parse_workload(value)
            workloads.append({"kind": kind, "name": name, "images": []})
        elif not workloads:
            raise ValueError("with --workload, each --image follows the --workload it belongs to")
        else:
            workloads[-1]["images"] += parse_images([value])
    for workload in workloads:
        if not workload["images"]:
            raise ValueError(
                f"--workload {workload['kind'].lower()}/{workload['name']} needs an --image after it"
            )
    return workloads


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--deployment", help="the Deployment in the namespace")
    target.add_argument(
        "--workload",
        action=_Ordered,
        metavar="KIND/NAME",
        help="a workload to change, in order (repeatable): deployment/NAME, statefulset/NAME or daemonset/NAME; "
        "the --image flags after it are its images; all are undone if any fails",
    )
    p.add_argument(
        "--image",
        action=_Ordered,
        required=True,
        metavar="CONTAINER=IMAGE",
        help="a container's new image (repeatable; with --workload, of the workload before it)",
    )
    p.add_argument("--priority", choices=("low", "normal", "high", "urgent"), default="normal")
    p.add_argument(
        "--verify",
        type=whole_seconds_arg,
        default=None,
        metavar="DURATION",
        help="verification window after the rollout completes (e.g. 60s, 5m)",
    )
    add_wait_flags(p)


async def _run(client: kube.Kube, namespace: str, args: argparse.Namespace) -> int:
    try:
        spec: Obj = {"priority": args.priority}
        if args.workload:
            spec["workloads"] = workloads_of(args.ordered)
        else:
            spec.update(deployment=args.deployment, images=parse_images(args.image))
    except ValueError as exc:
        return fail(str(exc))
    if args.verify is not None:
        spec["verification"] = {"durationSeconds": args.verify}
    doc = request_doc(namespace, args.name, spec)
    return await submit(client, namespace, args.name, doc, Waiting.from_args(args))


COMMAND = ClientCommand("create", "create a DeploymentRequest without YAML", _configure, _run)
