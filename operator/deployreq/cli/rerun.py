"""``deployreq rerun NAME``: run a finished request again (the ``deployreq.dev/rerun`` annotation)."""

from __future__ import annotations

import argparse
import time

from deployreq import errors
from deployreq.api import names
from deployreq.api.names import RERUN_ANNOTATION
from deployreq.cli.common import ClientCommand, Waiting, add_wait_flags, fail, generation_of, say, wait_all
from deployreq.cli.follow import Target
from deployreq.cluster import kube


async def cmd_rerun(client: kube.Kube, namespace: str, name: str, waiting: Waiting) -> int:
    value = str(int(time.time() * 1000))
    try:
        result = await client.patch(
            kube.request_path(namespace, name), {"metadata": {"annotations": {RERUN_ANNOTATION: value}}}
        )
    except errors.NotFound:
        return fail(f'deploymentrequest "{name}" not found in namespace "{namespace}"')
    say(f"deploymentrequest.{names.GROUP}/{name} re-run requested ({RERUN_ANNOTATION}={value})")
    if not waiting.wait:
        return 0
    return await wait_all(client, [Target(namespace, name, generation_of(result), rerun=value)], waiting)


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("name")
    add_wait_flags(p)


async def _run(client: kube.Kube, namespace: str, args: argparse.Namespace) -> int:
    return await cmd_rerun(client, namespace, args.name, Waiting.from_args(args))


COMMAND = ClientCommand(
    "rerun", "run a finished request again (sets the deployreq.dev/rerun annotation)", _configure, _run
)
