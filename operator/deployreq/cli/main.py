"""The ``deployreq`` command (also ``kubectl deployreq``): run the operator, or work with requests from CI."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from deployreq import errors
from deployreq.cli.flags import add_settings_flags, settings_from
from deployreq.cluster import kube
from deployreq.cluster.credentials import load_credentials
from deployreq.durations import EXAMPLES, duration_arg, whole_seconds_arg
from deployreq.gates.flags import add_gate_flags, gate_settings_from
from deployreq.notify.flags import add_notify_flags, notify_settings_from


def _add_cluster_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kubeconfig",
        help="path to the kubeconfig (default: $KUBECONFIG or ~/.kube/config, else in-cluster configuration)",
    )
    parser.add_argument("--context", help="kubeconfig context to use")


def _run_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run", help="run the operator", description="Run the operator against the current cluster."
    )
    _add_cluster_flags(p)
    add_settings_flags(p)
    add_gate_flags(p)
    add_notify_flags(p)


def _client_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def add(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        _add_cluster_flags(p)
        p.add_argument("-n", "--namespace", help="namespace (default: the kubeconfig context's)")
        return p

    def waiting(p: argparse.ArgumentParser) -> None:
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
            default=30.0,
            metavar="DURATION",
            help="when output is not a terminal (CI logs), print a progress line after this long without one "
            "(default 30s); on a terminal a live line shows the progress instead",
        )

    p = add("apply", "create or update DeploymentRequests from a file (or - for stdin)")
    p.add_argument("-f", "--filename", required=True, metavar="FILE")
    waiting(p)
    p = add("create", "create a DeploymentRequest without YAML")
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
    waiting(p)
    p = add(
        "rollback",
        "restore the last good images (those of the last Succeeded request) through the queue, urgently; "
        "what will be restored is printed first",
    )
    p.add_argument("deployment")
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
    waiting(p)
    p = add("rerun", "run a finished request again (sets the deployreq.dev/rerun annotation)")
    p.add_argument("name")
    waiting(p)
    p = add("status", "show a request, its gates and its history")
    p.add_argument("name")
    p = add("queue", "show the queues in run order and who holds each lock")
    p.add_argument("-A", "--all-namespaces", action="store_true")


def cmd_client(args: argparse.Namespace) -> int:
    from deployreq.cli import commands

    try:
        credentials = load_credentials(args.kubeconfig, args.context)
    except Exception as exc:  # the config loaders raise several kinds; all mean the same to a user
        return commands.fail(f"cannot load a kubeconfig: {exc}")
    namespace = args.namespace or credentials.namespace

    async def run() -> int:
        client = kube.Kube(credentials, attempts=3, user_agent="deployreq-cli")
        try:
            match args.command:
                case "apply":
                    return await commands.cmd_apply(
                        client, namespace, args.filename, args.wait, args.timeout, args.progress_interval
                    )
                case "create":
                    return await commands.cmd_create(
                        client,
                        namespace,
                        args.name,
                        args.deployment,
                        args.image,
                        args.priority,
                        args.verify,
                        args.wait,
                        args.timeout,
                        args.progress_interval,
                    )
                case "rollback":
                    return await commands.cmd_rollback(
                        client,
                        namespace,
                        args.deployment,
                        commands.RollbackChoice(args.to_request, args.to_revision, args.undo, args.dry_run),
                        args.wait,
                        args.timeout,
                        args.name,
                        args.progress_interval,
                    )
                case "rerun":
                    return await commands.cmd_rerun(
                        client, namespace, args.name, args.wait, args.timeout, args.progress_interval
                    )
                case "status":
                    return await commands.cmd_status(client, namespace, args.name)
                case "queue":
                    return await commands.cmd_queue(client, None if args.all_namespaces else namespace)
            return 2
        except Exception as exc:  # an API or network failure ends the command with its reason, not a trace
            message = exc.message if isinstance(exc, errors.ApiError) else str(exc)
            return commands.fail(message or repr(exc))
        finally:
            await client.close()

    return asyncio.run(run())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deployreq",
        description="Queue, gate, deploy, verify and roll back image updates with DeploymentRequests. Also a kubectl plugin: kubectl deployreq ...",
        epilog=f"Every DURATION takes {EXAMPLES} (Go's duration syntax, as kubectl's --timeout).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _run_parser(sub)
    _client_parsers(sub)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from deployreq.wiring.operator_main import configure_logging, run_operator

    settings = settings_from(args)
    if settings.renew_interval_seconds >= settings.lease_duration_seconds:
        print("deployreq: --renew-interval must be shorter than --lease-duration", file=sys.stderr)
        return 2
    try:
        gate_settings = gate_settings_from(args)
        notify_settings = notify_settings_from(args)
    except ValueError as exc:
        print(f"deployreq: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    credentials = load_credentials(args.kubeconfig, args.context)
    return asyncio.run(run_operator(settings, credentials, gate_settings, notify_settings=notify_settings))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return cmd_run(args)
    return cmd_client(args)


if __name__ == "__main__":
    sys.exit(main())
