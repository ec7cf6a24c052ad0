"""Starting the operator: credentials, the shared API client, workers, and kopf with an explicit registry."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import kopf

from deployreq import errors
from deployreq.api import times
from deployreq.api.phases import TERMINAL, Phase
from deployreq.api.request import Request
from deployreq.cluster import kube
from deployreq.cluster.cache import Cache
from deployreq.cluster.credentials import Credentials
from deployreq.cluster.events import Recorder
from deployreq.cluster.leader import LeaderElector
from deployreq.config import Settings
from deployreq.engine.actions import Actions
from deployreq.engine.gate_runs import GateRuns
from deployreq.engine.worker import Context, Workers
from deployreq.gates import GateSettings, Guard, api_server_endpoints, make_clients
from deployreq.notify import Dispatcher, NotifySettings, load_notifier
from deployreq.observe import heap
from deployreq.observe.health import StandbyProbe
from deployreq.observe.metrics import Metrics
from deployreq.wiring import kopf_startup
from deployreq.wiring.handlers import build_registry

log = logging.getLogger(__name__)


def configure_logging(settings: Settings) -> None:
    log_format = kopf.LogFormat.JSON if settings.log_format == "json" else kopf.LogFormat.PLAIN
    kopf.configure(verbose=settings.verbose, debug=settings.verbose, log_format=log_format)
    # httpx logs every request at INFO and httpcore every socket step at DEBUG: noise that costs CPU.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    if not settings.verbose:
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)  # one line per handled event is noise


def _seconds_between(start: object, end: object) -> float | None:
    if not start or not end:
        return None
    return max(0.0, times.epoch(end) - times.epoch(start))


def metrics_observer(metrics: Metrics) -> Callable[[str, Request, Phase], None]:
    """Turns phase changes into metric observations; the request's status holds every timestamp needed."""

    def observe(namespace: str, req: Request, phase: Phase) -> None:
        st = req.status
        if phase in TERMINAL:
            metrics.requests.labels(phase.value).inc()
        if phase in (Phase.CHECKING, Phase.DEPLOYING) and st.get("startedAt"):
            wait = _seconds_between(req.created, st.get("startedAt"))
            if wait is not None:
                metrics.queue_wait.observe(wait)
        if phase == Phase.VERIFYING or (phase == Phase.SUCCEEDED and not st.get("verifyingSince")):
            took = _seconds_between(st.get("patchedAt"), st.get("verifyingSince") or st.get("completedAt"))
            if took is not None:
                metrics.rollout_time.observe(took)
        if phase == Phase.SUCCEEDED and st.get("verifyingSince"):
            took = _seconds_between(st.get("verifyingSince"), st.get("completedAt"))
            if took is not None:
                metrics.verification_time.observe(took)
        if phase in (Phase.ROLLED_BACK, Phase.CANCELLED) and st.get("failureDetectedAt"):
            took = _seconds_between(st.get("failureDetectedAt"), st.get("completedAt"))
            if took is not None:
                metrics.time_to_rollback.observe(took)

    return observe


def api_server_urls(server: str, environ: Mapping[str, str]) -> list[str]:
    """The API server as the operator reaches it, and in a pod also as the ``kubernetes`` Service and its name."""
    urls = [server]
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    if host and port:
        literal = f"[{host}]" if ":" in host else host
        urls += [f"https://{literal}:{port}", f"https://kubernetes.default.svc:{port}"]
    return urls


async def run_operator(
    settings: Settings,
    credentials: Credentials,
    gate_settings: GateSettings | None = None,
    stop_flag: asyncio.Event | None = None,
    notify_settings: NotifySettings | None = None,
) -> int:
    """Run until stopped; returns the process exit code (1 when leadership was lost)."""
    kopf_startup.apply()  # kopf's index pre-population wakes every waiter on every object: see the module
    client = kube.Kube(
        credentials,
        attempts=settings.api_retry_attempts,
        backoff=settings.api_retry_backoff_seconds,
        user_agent=f"deployreq/{settings.identity}",
    )
    cache = Cache()
    recorder = Recorder(client, settings.identity)
    metrics = Metrics()
    gate_settings = gate_settings or GateSettings()
    gate_clients = make_clients(gate_settings)
    ctx = Context(
        settings=settings,
        client=client,
        cache=cache,
        actions=Actions(client, cache, recorder),
        recorder=recorder,
        gates=GateRuns(
            client,
            cache,
            gate_settings,
            gate_clients,
            Guard.from_settings(gate_settings).with_api_server(
                await api_server_endpoints(api_server_urls(credentials.server, os.environ))
            ),
            on_check=lambda kind, result, _s: metrics.gate_evaluations.labels(kind, result).inc(),
            on_stage=lambda stage, seconds: metrics.gate_time.labels(stage).observe(seconds),
            recorder=recorder,
        ),
    )
    workers = Workers(ctx)
    dispatcher: Dispatcher | None = None
    notify_client: httpx.AsyncClient | None = None
    if notify_settings is not None and notify_settings.enabled:
        notify_client = httpx.AsyncClient(timeout=10.0, trust_env=False)
        try:
            notifier = await load_notifier(
                lambda ns, name: client.get(kube.secret_path(ns, name)), notify_settings, notify_client
            )
        except (ValueError, errors.ApiError) as exc:
            log.error("notifications: %s", exc)
            await notify_client.aclose()
            await client.close()
            return 2
        dispatcher = Dispatcher(notifier)
        dispatcher.start()
        ctx.observers.append(dispatcher.observe)
    ctx.observers.append(metrics_observer(metrics))
    ctx.on_takeover = metrics.lease_takeovers.inc
    client.on_error = lambda _error: metrics.api_errors.inc()
    client.on_retry = metrics.api_retries.inc
    metrics.active_locks.set_function(workers.locks_held)
    metrics.queue_depth.set_function(workers.queue_depth)
    if settings.metrics_port:
        metrics.serve(settings.metrics_port, settings.metrics_host)
    registry = build_registry(settings, workers)

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(
            server=credentials.server,
            token=client.token(),  # kopf logs in again on a 401: the re-read token then
            ca_path=credentials.ca_file,
            certificate_path=credentials.cert_file,
            private_key_path=credentials.key_file,
            insecure=not credentials.verify,
            default_namespace="default",
        )

    elector: LeaderElector | None = None
    lost = asyncio.Event()
    keeper: asyncio.Task[None] | None = None
    if settings.leader_elect:
        elector = LeaderElector(
            client,
            settings.leader_namespace,
            settings.identity,
            settings.leader_lease_duration_seconds,
            settings.leader_renew_interval_seconds,
            settings.leader_renew_interval_seconds,
        )
        probe = StandbyProbe(settings.metrics_host, settings.health_port) if settings.health_port else None
        if probe is not None:
            await probe.start()
        try:
            await elector.acquire()
        finally:
            if probe is not None:
                await probe.stop()  # kopf serves the port from here on
        keeper = asyncio.create_task(elector.keep(lost))
        if stop_flag is None:
            stop_flag = lost
    trimmer = asyncio.create_task(heap.keep_trimmed(), name="heap trim")
    try:
        await kopf.operator(
            registry=registry,
            standalone=True,
            clusterwide=settings.all_namespaces,
            namespaces=settings.namespaces,
            stop_flag=stop_flag,
            liveness_endpoint=(
                f"http://{settings.metrics_host}:{settings.health_port}/healthz"
                if settings.health_port
                else None
            ),
        )
    finally:
        trimmer.cancel()
        if keeper is not None:
            keeper.cancel()
        if elector is not None and not lost.is_set():
            await elector.release()
        if dispatcher is not None:
            await dispatcher.stop()
        if notify_client is not None:
            await notify_client.aclose()
        await gate_clients.aclose()
        await client.close()
    return 1 if lost.is_set() else 0
