"""kopf wiring only: the index of DeploymentRequests, the events that wake namespace workers, and the informers'
start and stop.

kopf watches DeploymentRequests; Deployments, ReplicaSets and Pods are mirrored by the operator's informers, which
the start-up handler starts and waits for (kopf handles no object before every start-up handler is done, so no worker
ever decides on a half-filled mirror). No handler stores progress on any object, so kopf writes to nothing. All
handlers are registered on an explicit registry built from the settings at start-up, never at import time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, cast

import kopf

from deployreq import errors
from deployreq.api import approval, names
from deployreq.cluster import kube
from deployreq.cluster.cache import slim
from deployreq.cluster.informer import Informer, Informers, Mirror, OnDemand
from deployreq.cluster.policies import slim_namespace
from deployreq.config import Settings
from deployreq.engine.policy_status import PolicyStatusWriter
from deployreq.engine.worker import Workers

log = logging.getLogger(__name__)


class NoDiffBase(kopf.DiffBaseStorage):
    """No change-detecting handler is registered, so kopf never needs a diff: skip the deep copy of every body
    that kopf's default storage makes on every watch event (6 % of the CPU under load, by profile)."""

    def build(self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None) -> kopf.BodyEssence:
        return cast(kopf.BodyEssence, {})

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        return None


MIRRORED = (
    ("/apis/apps/v1", "deployments", "deployments"),
    ("/apis/apps/v1", "replicasets", "replicasets"),
    ("/api/v1", "pods", "pods"),
    (f"/apis/{names.API_VERSION}", approval.PLURAL, "deployapprovals"),
)
MIRRORED_ON_DEMAND = (
    ("/apis/apps/v1", "statefulsets", "statefulsets"),
    ("/apis/apps/v1", "daemonsets", "daemonsets"),
    ("/apis/apps/v1", "controllerrevisions", "controllerrevisions"),
)
WAKING = frozenset({approval.PLURAL})
"""Mirrored types whose every change wakes the namespace's worker (an approval may let a waiting request start);
optional too: without their CRD (an install from an older crds/) there are none, and nothing else waits for them."""


def build_informers(
    settings: Settings, workers: Workers, mirrored: tuple[tuple[str, str, str], ...] = MIRRORED
) -> Informers:
    """One informer per mirrored type, cluster-wide or per served namespace (as kopf watches requests)."""
    cache = workers.ctx.cache

    def changed(namespace: str) -> None:
        if workers.has_work(namespace):  # only an active request reads these objects
            workers.wake(namespace)

    informers = []
    for prefix, plural, attribute in mirrored:
        notify = workers.wake if plural in WAKING else changed
        mirror: Mirror = getattr(cache, attribute)
        if settings.all_namespaces:
            paths = [kube.collection_path(prefix, plural)]
        else:
            paths = [kube.collection_path(prefix, plural, ns) for ns in settings.namespaces]
        optional = plural in WAKING
        informers += [
            Informer(workers.ctx.client, path, mirror, notify, keep=slim, optional=optional) for path in paths
        ]
    return Informers(informers)


def policy_informers(workers: Workers, statuses: PolicyStatusWriter | None = None) -> list[Informer]:
    """DeployPolicies (optional: the CRD may not be installed yet) and Namespaces' labels, cluster-scoped: a change
    may end or start a hold anywhere, so every worker decides again (not when only a policy's status changed: the
    operator writes that itself). Every change is shown in the policies' statuses."""
    client, policies = workers.ctx.client, workers.ctx.cache.policies
    policy_path = kube.collection_path(f"/apis/{names.GROUP}/{names.VERSION}", names.POLICY_PLURAL)
    namespaces_path = kube.collection_path("/api/v1", "namespaces")

    def policy_changed(_: str) -> None:
        if policies.specs_changed():
            workers.wake_all()
        if statuses is not None:
            statuses.poke()

    def namespace_changed(_: str) -> None:
        workers.wake_all()
        if statuses is not None:
            statuses.poke()

    return [
        Informer(client, policy_path, policies.mirror, policy_changed, optional=True),
        Informer(client, namespaces_path, policies.namespaces, namespace_changed, keep=slim_namespace),
    ]


def _status_writer(settings: Settings, workers: Workers) -> PolicyStatusWriter | None:
    """The writer of the DeployPolicies' statuses (engine/policy_status.py): only in an operator that serves every
    namespace (one serving some does not see every active request)."""
    ctx = workers.ctx
    if not settings.all_namespaces:
        return None
    return PolicyStatusWriter(ctx.client, ctx.cache, ctx.wall, ctx.monotonic)


async def _start_statuses(statuses: PolicyStatusWriter | None, client: kube.Kube) -> None:
    """Start the writer once the mirrors are full; its first pass waits for the requests' index unless there is no
    request at all (then no request event would ever say that the index is full)."""
    if statuses is None:
        return
    statuses.start()
    if not await _any_request(client):
        statuses.indexed()


async def _any_request(client: kube.Kube) -> bool:
    """Whether any DeploymentRequest exists (one item listed)."""
    path = kube.collection_path(f"/apis/{names.GROUP}/{names.VERSION}", names.PLURAL)
    try:
        return bool((await client.get(path, {"limit": "1"})).get("items"))
    except errors.ApiError:  # no CRD (yet), or no right to list: kopf cannot run requests either
        return False


def build_registry(settings: Settings, workers: Workers) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    cache = workers.ctx.cache
    statuses = _status_writer(settings, workers)
    informers = Informers(build_informers(settings, workers).informers + policy_informers(workers, statuses))
    # StatefulSets, DaemonSets and their ControllerRevisions: mirrored once a request names one.
    on_demand = OnDemand(build_informers(settings, workers, MIRRORED_ON_DEMAND))
    workers.ctx.kinds_ready = on_demand.ready

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False  # our own Events only; kopf's would echo every log line
        settings.watching.server_timeout = 270
        settings.watching.client_timeout = 300
        settings.watching.connect_timeout = 10
        settings.watching.chunk_size = 500  # list in pages (as the informers do), not in one huge response
        settings.networking.error_backoffs = [0.1, 0.5, 1, 2, 5]
        # No limit: at start every object's worker waits, holding its slot, until all objects are indexed, so a
        # limit below the number of objects deadlocks the start (seen with 500 slots and 10,000 requests).
        settings.batching.worker_limit = None
        settings.batching.idle_timeout = 5
        settings.batching.batch_window = 0.0
        settings.persistence.diffbase_storage = NoDiffBase()

    @kopf.on.startup(registry=registry)
    async def mirror_workloads(logger: Any, **_: Any) -> None:
        await _synced(informers)
        logger.info(
            "mirroring %d Deployments, %d ReplicaSets, %d Pods, %d DeployApprovals, %d DeployPolicies, %d Namespaces",
            *map(len, informers.mirrors()),
        )
        await _start_statuses(statuses, workers.ctx.client)

    @kopf.index(names.GROUP, names.VERSION, names.PLURAL, registry=registry, id="requests_by_namespace")
    async def requests_by_namespace(**kwargs: Any) -> dict[str, Any]:
        return {kwargs["namespace"]: slim(kwargs["body"])}

    @kopf.on.event(names.GROUP, names.VERSION, names.PLURAL, registry=registry)
    async def request_changed(**kwargs: Any) -> None:
        cache.attach(kwargs)
        workers.wake(kwargs["namespace"])
        if statuses is not None:
            statuses.indexed()  # kopf handles a request only once its index holds all: an active count is true

    @kopf.on.cleanup(registry=registry)
    async def stop_workers(**_: Any) -> None:
        await workers.stop()
        if statuses is not None:
            await statuses.stop()
        await informers.stop()
        await on_demand.stop()
        await workers.ctx.recorder.drain()

    return registry


async def _synced(informers: Informers) -> None:
    """Start the informers and wait until each has listed once. Stopped before that (a list refused, say), they
    stop too: kopf runs no cleanup handler after a cancelled startup, and would wait 5 s for their tasks."""
    informers.start()
    try:
        await informers.wait_synced()
    except asyncio.CancelledError:
        await informers.stop()
        raise
