"""The ``deployreq`` command (also ``kubectl deployreq``): run the operator, or work with requests from CI."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from deployreq import errors
from deployreq.cli import apply, approve, create, policy, queue, reject, report, rerun, rollback, status
from deployreq.cli.common import Parsers, add_cluster_flags, add_command, fail
from deployreq.cli.flags import add_settings_flags, settings_from
from deployreq.cluster import kube
from deployreq.cluster.credentials import load_credentials
from deployreq.durations import EXAMPLES
from deployreq.gates.flags import add_gate_flags, gate_settings_from
from deployreq.notify.flags import add_notify_flags, notify_settings_from

# The CI-facing commands, one module each, in the order `deployreq --help` lists them.
COMMANDS = (
    apply.COMMAND,
    create.COMMAND,
    rollback.COMMAND,
    rerun.COMMAND,
    status.COMMAND,
    queue.COMMAND,
    report.COMMAND,
    approve.COMMAND,
    reject.COMMAND,
    policy.COMMAND,
)


def _run_parser(sub: Parsers) -> None:
    p = sub.add_parser(
        "run", help="run the operator", description="Run the operator against the current cluster."
    )
    add_cluster_flags(p)
    add_settings_flags(p)
    add_gate_flags(p)
    add_notify_flags(p)


def cmd_client(args: argparse.Namespace) -> int:
    command = {c.name: c for c in COMMANDS}[args.command]
    try:
        credentials = load_credentials(args.kubeconfig, args.context)
    except Exception as exc:  # the config loaders raise several kinds; all mean the same to a user
        return fail(f"cannot load a kubeconfig: {exc}")
    namespace = args.namespace or credentials.namespace

    async def run() -> int:
        client = kube.Kube(credentials, attempts=3, user_agent="deployreq-cli")
        try:
            return await command.run(client, namespace, args)
        except Exception as exc:  # an API or network failure ends the command with its reason, not a trace
            message = exc.message if isinstance(exc, errors.ApiError) else str(exc)
            return fail(message or repr(exc))
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
    for command in COMMANDS:
        add_command(sub, command)
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
