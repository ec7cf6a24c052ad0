"""``kubesim``: run the simulated API server until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from kubesim.controllers import ControllerSettings
from kubesim.kubeconfig import write_kubeconfig
from kubesim.simulator import Simulator


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kubesim",
        description="A local Kubernetes API server with real semantics and "
        "simulated Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob and garbage-collector controllers, "
        "a scheduler and kubelets. Serves HTTPS with a CA "
        "generated at start; prints 'kubesim ready URL' once it accepts connections.",
    )
    _add_server_flags(p)
    _add_kubelet_flags(p)
    return p


def _add_server_flags(p: argparse.ArgumentParser) -> None:
    """Where and how kubesim serves: address, TLS, credentials, audit, watches, names, Nodes."""
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    p.add_argument(
        "--kubeconfig",
        type=Path,
        help="write a kubeconfig for this server here (with the generated CA as certificate-authority-data)",
    )
    p.add_argument(
        "--insecure-http",
        action="store_true",
        help="serve plain HTTP instead of HTTPS; a request without credentials is then the admin, because "
        "kubectl and client-go send no bearer token over plain HTTP (default: HTTPS with a CA generated at "
        "start, and such a request is system:anonymous)",
    )
    p.add_argument("--token", default="kubesim-token", help="the admin bearer token (default kubesim-token)")
    p.add_argument("--audit-log", type=Path, help="append every request as a JSON line to this file")
    p.add_argument("--audit-bodies", action="store_true", help="include write requests' bodies in the audit")
    p.add_argument("--bookmark-interval", type=float, default=30.0, help="seconds between watch BOOKMARKs")
    p.add_argument("--seed", type=int, default=0, help="seed for generated names and faults (default 0)")
    p.add_argument(
        "--nodes",
        type=int,
        default=3,
        help="Ready Nodes to register (default 3; the scheduler spreads pods over them)",
    )


def _add_kubelet_flags(p: argparse.ArgumentParser) -> None:
    """How the simulated kubelets run containers: timing, and the images that crash or cannot be pulled."""
    p.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiply every kubelet delay (pulls, readiness, crashes, the 10 s to 5 min back-offs) by this "
        "factor; 1 is a real kubelet's timing, 0.01 makes a 10 s back-off last 0.1 s (default 1)",
    )
    p.add_argument(
        "--pod-ready-seconds",
        type=float,
        default=1.0,
        help="a container's start to its readiness, before --time-scale (default 1.0)",
    )
    p.add_argument(
        "--crash-after-seconds",
        type=float,
        default=0.2,
        help="how long a --fail-image container runs before it exits 1, before --time-scale (default 0.2)",
    )
    p.add_argument(
        "--fail-image",
        action="append",
        default=[],
        metavar="GLOB",
        help="images matching GLOB crash-loop (repeatable)",
    )
    p.add_argument(
        "--unpullable-image",
        action="append",
        default=[],
        metavar="GLOB",
        help="images matching GLOB cannot be pulled (repeatable)",
    )


async def serve(args: argparse.Namespace) -> int:
    settings = ControllerSettings(
        pod_ready_seconds=args.pod_ready_seconds,
        fail_images=list(args.fail_image),
        unpullable_images=list(args.unpullable_image),
        crash_after_seconds=args.crash_after_seconds,
        time_scale=args.time_scale,
    )
    sim = Simulator(
        token=args.token,
        audit_log=args.audit_log,
        audit_bodies=args.audit_bodies,
        settings=settings,
        seed=args.seed,
        bookmark_interval=args.bookmark_interval,
        nodes=args.nodes,
        tls=not args.insecure_http,
    )
    url = await sim.start(args.host, args.port)
    if args.kubeconfig:
        write_kubeconfig(args.kubeconfig, url, args.token, ca_pem=None if args.insecure_http else sim.ca_pem)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await asyncio.sleep(0)  # let the controllers start: one that fails at once is reported before "ready"
    if not sim.crashed.is_set():
        print(f"kubesim ready {url}", flush=True)
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(sim.crashed.wait())]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()
    await sim.stop()
    if sim.crash is not None:
        print(
            f"kubesim: the controllers stopped: {sim.crash!r} (the traceback is in the log above)",
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
