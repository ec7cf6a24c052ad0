"""``deployreq create NAME --deployment D --image C=I``: a DeploymentRequest without YAML."""

from __future__ import annotations

import argparse

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


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    p.add_argument("--deployment", required=True, help="the Deployment in the namespace")
    p.add_argument(
        "--image",
        action="append",
        required=True,
        metavar="CONTAINER=IMAGE",
        help="a container's new image (repeatable)",
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
        spec: Obj = {
            "deployment": args.deployment,
            "images": parse_images(args.image),
            "priority": args.priority,
        }
    except ValueError as exc:
        return fail(str(exc))
    if args.verify is not None:
        spec["verification"] = {"durationSeconds": args.verify}
    doc = request_doc(namespace, args.name, spec)
    return await submit(client, namespace, args.name, doc, Waiting.from_args(args))


COMMAND = ClientCommand("create", "create a DeploymentRequest without YAML", _configure, _run)
