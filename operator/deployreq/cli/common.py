"""What every CI-facing command shares: its parser's common flags, output, creating a request and waiting on it.

A command is one module exposing ``COMMAND`` (a :class:`ClientCommand`): adding a command is adding a module and
listing it in :mod:`deployreq.cli.main`. Each command is an async function over an API client that prints to stdout
and returns an exit code (0 Succeeded or done, 1 another terminal phase, 2 a usage error or a timeout, with a one-line
reason on stderr).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from deployreq import errors
from deployreq.api import names
from deployreq.cli.follow import EXIT_USAGE, HEARTBEAT_SECONDS, Progress, Target, follow
from deployreq.cluster import kube
from deployreq.durations import duration_arg, format_seconds

Obj = dict[str, Any]
Parsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def fail(message: str) -> int:
    print(f"deployreq: {message}", file=sys.stderr)
    return EXIT_USAGE


def say(text: str) -> None:
    print(text, flush=True)


@dataclass(frozen=True)
class ClientCommand:
    """One CI-facing subcommand: its name and help, the flags of its own, and what it does."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[kube.Kube, str, argparse.Namespace], Awaitable[int]]


def add_cluster_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kubeconfig",
        help="path to the kubeconfig (default: $KUBECONFIG or ~/.kube/config, else in-cluster configuration)",
    )
    parser.add_argument("--context", help="kubeconfig context to use")


def add_command(sub: Parsers, command: ClientCommand) -> None:
    p = sub.add_parser(command.name, help=command.help, description=command.help)
    add_cluster_flags(p)
    p.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's)")
    command.configure(p)


@dataclass(frozen=True)
class Waiting:
    """``--wait``, ``--timeout`` and ``--progress-interval`` of the commands that can follow a request to its end."""

    wait: bool = False
    timeout: float = 900.0
    progress_interval: float = HEARTBEAT_SECONDS

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Waiting:
        return cls(args.wait, args.timeout, args.progress_interval)


def add_wait_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--wait",
        action="store_true",
        help="follow the request until it ends: exit 0 on Succeeded, 1 on any other end, 2 on timeout",
    )
    p.add_argument(
        "--timeout",
        type=duration_arg,
        default=900.0,
        metavar="DURATION",
        help="give up waiting after this long (default 15m)",
    )
    p.add_argument(
        "--progress-interval",
        type=duration_arg,
        default=HEARTBEAT_SECONDS,
        metavar="DURATION",
        help="when output is not a terminal (CI logs), print a progress line after this long without one "
        "(default 30s); on a terminal a live line shows the progress instead",
    )


async def wait_all(client: kube.Kube, targets: list[Target], waiting: Waiting) -> int:
    """Follow each target in turn (the worst exit code); a timeout ends the command with its reason."""
    worst = 0
    deadline = time.monotonic() + waiting.timeout
    width = max([24, *(len(t.name) for t in targets)])
    for target in targets:
        remaining = deadline - time.monotonic()
        progress = Progress.for_stream(sys.stdout, heartbeat=waiting.progress_interval, name_width=width)
        code = await follow(client, target, remaining, progress)
        if code == EXIT_USAGE:
            return fail(
                f"timed out after {format_seconds(waiting.timeout)} waiting for "
                f"deploymentrequest/{target.name} to end"
            )
        worst = max(worst, code)
    return worst


def generation_of(obj: Obj) -> int:
    return int(obj["metadata"].get("generation") or 1)


async def submit(client: kube.Kube, namespace: str, name: str, doc: Obj, waiting: Waiting) -> int:
    """Create the request ``doc`` and, with ``--wait``, follow it to its outcome (the exit code)."""
    try:
        result = await client.create(kube.request_path(namespace), doc)
    except errors.ApiError as exc:
        return fail(exc.message)
    say(f"deploymentrequest.{names.GROUP}/{name} created")
    if not waiting.wait:
        return 0
    return await wait_all(client, [Target(namespace, name, generation_of(result))], waiting)


def request_doc(
    namespace: str, name: str, spec: Obj, labels: Obj | None = None, annotations: Obj | None = None
) -> Obj:
    """A DeploymentRequest manifest as ``kubectl apply`` would send it."""
    metadata: Obj = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": names.API_VERSION, "kind": names.KIND, "metadata": metadata, "spec": spec}
