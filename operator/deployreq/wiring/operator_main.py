"""Starting the operator: credentials, the shared API client, workers, and kopf with an explicit registry."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
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
from deployreq.cluster.budget import Budgets
from deployreq.cluster.cache import Cache
from deployreq.cluster.credentials import Credentials
from deployreq.cluster.events import Recorder
from deployreq.cluster.leader import LeaderElector
from deployreq.config import Settings
from deployreq.decide import admit, report
from deployreq.engine.actions import Actions
from deployreq.engine.context import Context
from deployreq.engine.gate_runs import GateRuns
from deployreq.engine.worker import Workers
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
            # The phase given: a superseded request is told before its status write is back.
            metrics.release.observe(dataclasses.replace(report.run_of(req.body), phase=phase))
        if phase in (Phase.CHECKING, Phase.DEPLOYING) and st.started_at:
            wait = _seconds_between(req.created, st.started_at)
            if wait is not None:
                metrics.queue_wait.observe(wait)
        if phase == Phase.VERIFYING or (phase == Phase.SUCCEEDED and not st.verifying_since):
            took = _seconds_between(st.patched_at, st.verifying_since or st.completed_at)
            if took is not None:
                metrics.rollout_time.observe(took)
        if phase == Phase.SUCCEEDED and st.verifying_since:
            took = _seconds_between(st.verifying_since, st.completed_at)
            if took is not None:
                metrics.verification_time.observe(took)
        if phase in (Phase.ROLLED_BACK, Phase.CANCELLED) and st.failure_detected_at:
            took = _seconds_between(st.failure_detected_at, st.completed_at)
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
    """Run until stopped; returns the process exit code (1 when leadership was lost, 2 when notifications cannot
    start). Everything started is stopped in reverse order by one exit stack, also when start-up fails halfway."""
    kopf_startup.apply()  # kopf's index pre-population wakes every waiter on every object: see the module
    lost = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        client = kube.Kube(
            credentials,
            attempts=settings.api_retry_attempts,
            backoff=settings.api_retry_backoff_seconds,
            user_agent=f"deployreq/{settings.identity}",
        )
        stack.push_async_callback(client.close)
        metrics = Metrics()
        ctx = await _context(settings, credentials, client, gate_settings or GateSettings(), metrics, stack)
        workers = Workers(ctx)
        if notify_settings is not None and notify_settings.enabled:
            dispatcher = await _start_notifications(client, notify_settings, stack)
            if dispatcher is None:
                return 2
            ctx.observers.append(dispatcher.observe)
        _observe(settings, ctx, workers, metrics)
        registry = build_registry(settings, workers)
        _register_login(registry, credentials, client)
        if settings.leader_elect:
            await _lead(settings, client, lost, stack)
            if stop_flag is None:
                stop_flag = lost
        trimmer = asyncio.create_task(heap.keep_trimmed(), name="heap trim")
        stack.callback(trimmer.cancel)
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
    return 1 if lost.is_set() else 0


async def _context(
    settings: Settings,
    credentials: Credentials,
    client: kube.Kube,
    gate_settings: GateSettings,
    metrics: Metrics,
    stack: contextlib.AsyncExitStack,
) -> Context:
    """What the namespace workers share: the client, the cache, the Event recorder, the actions and the gate runs."""
    cache = Cache()
    recorder = Recorder(client, settings.identity)
    gate_clients = make_clients(gate_settings)
    stack.push_async_callback(gate_clients.aclose)
    guard = Guard.from_settings(gate_settings).with_api_server(
        await api_server_endpoints(api_server_urls(credentials.server, os.environ))
    )
    return Context(
        settings=settings,
        client=client,
        cache=cache,
        actions=Actions(client, cache, recorder),
        recorder=recorder,
        budgets=Budgets(
            client, settings.leader_namespace, settings.identity, settings.lease_duration_seconds
        ),
        gates=GateRuns(
            client,
            cache,
            gate_settings,
            gate_clients,
            guard,
            on_check=lambda kind, result, _s: metrics.gate_evaluations.labels(kind, result).inc(),
            on_stage=lambda stage, seconds: metrics.gate_time.labels(stage).observe(seconds),
            recorder=recorder,
        ),
    )


async def _start_notifications(
    client: kube.Kube, notify_settings: NotifySettings, stack: contextlib.AsyncExitStack
) -> Dispatcher | None:
    """The dispatcher of finished requests' notifications; None (the reason logged) when the Secret is unusable."""
    notify_client = httpx.AsyncClient(timeout=10.0, trust_env=False)
    stack.push_async_callback(notify_client.aclose)
    try:
        notifier = await load_notifier(
            lambda ns, name: client.get(kube.secret_path(ns, name)), notify_settings, notify_client
        )
    except (ValueError, errors.ApiError) as exc:
        log.error("notifications: %s", exc)
        return None
    dispatcher = Dispatcher(notifier)
    dispatcher.start()
    stack.push_async_callback(dispatcher.stop)
    return dispatcher


def _observe(settings: Settings, ctx: Context, workers: Workers, metrics: Metrics) -> None:
    """Metrics from the workers' phase changes, takeovers and API errors; served when a port is set."""
    ctx.observers.append(metrics_observer(metrics))
    ctx.on_takeover = metrics.lease_takeovers.inc
    ctx.client.on_error = lambda _error: metrics.api_errors.inc()
    ctx.client.on_retry = metrics.api_retries.inc
    metrics.active_locks.set_function(workers.locks_held)
    metrics.queue_depth.set_function(workers.queue_depth)
    metrics.watch_holds("approval", workers.awaiting_approval, ctx.wall)
    for reason in admit.METRIC_REASONS.values():  # windows, freezes and budgets (docs/policy.md)
        metrics.watch_holds(reason, functools.partial(_held, workers, reason), ctx.wall)
    ctx.on_hold = lambda policy, reason: metrics.policy_holds.labels(policy, reason).inc()
    if settings.metrics_port:
        metrics.serve(settings.metrics_port, settings.metrics_host)


def _held(workers: Workers, reason: str) -> list[float]:
    return workers.held_by_policy()[reason]


def _register_login(registry: kopf.OperatorRegistry, credentials: Credentials, client: kube.Kube) -> None:
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


async def _lead(
    settings: Settings, client: kube.Kube, lost: asyncio.Event, stack: contextlib.AsyncExitStack
) -> None:
    """Wait for the leader-election Lease (answering the liveness probe meanwhile), then keep it; ``lost`` is set
    when it is lost. On the way out the Lease is released unless it was lost."""
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

    async def release() -> None:
        if not lost.is_set():
            await elector.release()

    stack.push_async_callback(release)
    keeper = asyncio.create_task(elector.keep(lost))
    stack.callback(keeper.cancel)
