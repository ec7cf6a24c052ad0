"""The ``deployreq`` command (also ``kubectl deployreq``): run the operator, or work with requests from CI."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from deployreq import kube
from deployreq.config import Settings, default_identity
from deployreq.gates.flags import add_gate_flags, gate_settings_from


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
    p.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        help="serve only this namespace (repeatable); default: all namespaces",
    )
    p.add_argument("-A", "--all-namespaces", action="store_true", help="serve every namespace (the default)")
    p.add_argument(
        "--identity",
        default=None,
        help="this operator's identity in Leases (default: $POD_NAME or the "
        "host name; keep it stable across restarts so a restarted operator resumes its own locks)",
    )
    p.add_argument(
        "--lease-duration",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="how long a namespace lock stays valid without renewal (default 15)",
    )
    p.add_argument(
        "--renew-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often held locks are renewed (default 5; keep well under the lease duration)",
    )
    p.add_argument(
        "--leader-elect",
        action="store_true",
        help="run only while holding the leader-election Lease (HA installs with several replicas)",
    )
    p.add_argument(
        "--leader-election-namespace",
        default=None,
        metavar="NS",
        help="namespace of the leader Lease (default: $POD_NAMESPACE or deployreq-system)",
    )
    p.add_argument(
        "--leader-lease-duration",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="leader lease duration: a standby takes over this long after the leader stops (default 15)",
    )
    p.add_argument(
        "--leader-renew-interval",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="how often the leader renews and a standby retries (default 2)",
    )
    p.add_argument(
        "--crash-restart-threshold",
        type=int,
        default=2,
        metavar="N",
        help="container restarts of a new pod that fail the rollout at once (default 2)",
    )
    p.add_argument(
        "--api-retries",
        type=int,
        default=5,
        metavar="N",
        help="attempts for an API call that failed transiently (default 5)",
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        metavar="PORT",
        help="serve Prometheus metrics on this port at /metrics (default 0: off)",
    )
    p.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="ADDR",
        help="address for the metrics endpoint (default 127.0.0.1; 0.0.0.0 in a pod)",
    )
    p.add_argument(
        "--health-port",
        type=int,
        default=0,
        metavar="PORT",
        help="serve the liveness probe on this port at /healthz (default 0: off)",
    )
    p.add_argument("--log-format", choices=("json", "text"), default="json", help="log format (default json)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    add_gate_flags(p)


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        namespaces=tuple(args.namespace),
        all_namespaces=bool(args.all_namespaces or not args.namespace),
        identity=args.identity or default_identity(),
        lease_duration_seconds=args.lease_duration,
        renew_interval_seconds=args.renew_interval,
        crash_restart_threshold=args.crash_restart_threshold,
        leader_elect=args.leader_elect,
        leader_lease_duration_seconds=args.leader_lease_duration,
        leader_renew_interval_seconds=args.leader_renew_interval,
        **({"leader_namespace": args.leader_election_namespace} if args.leader_election_namespace else {}),
        api_retry_attempts=args.api_retries,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
        health_port=args.health_port,
        log_format=args.log_format,
        verbose=args.verbose,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deployreq",
        description="Queue, gate, deploy, verify and roll back image updates with DeploymentRequests.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _run_parser(sub)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from deployreq.operator_main import configure_logging, run_operator

    settings = settings_from(args)
    if settings.renew_interval_seconds >= settings.lease_duration_seconds:
        print("deployreq: --renew-interval must be shorter than --lease-duration", file=sys.stderr)
        return 2
    try:
        gate_settings = gate_settings_from(args)
    except ValueError as exc:
        print(f"deployreq: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    credentials = kube.load_credentials(args.kubeconfig, args.context)
    return asyncio.run(run_operator(settings, credentials, gate_settings))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return cmd_run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
