"""kopf wiring only: indexes that mirror the cluster, and events that wake namespace workers.

No handler here stores progress on any object (event and index handlers leave no kopf annotations), so kopf never
writes to Deployments, Pods or ReplicaSets. All handlers are registered on an explicit registry built from the
settings at start-up, never at import time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, cast

import kopf

from deployreq import kube
from deployreq.cache import slim
from deployreq.config import Settings
from deployreq.worker import Workers

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


def build_registry(settings: Settings, workers: Workers) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    cache = workers.ctx.cache

    @kopf.on.startup(registry=registry)
    async def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False  # our own Events only; kopf's would echo every log line
        settings.watching.server_timeout = 270
        settings.watching.client_timeout = 300
        settings.watching.connect_timeout = 10
        settings.networking.error_backoffs = [0.1, 0.5, 1, 2, 5]
        # No limit: at start every object's worker waits, holding its slot, until all objects are indexed, so a
        # limit below the number of objects deadlocks the start (seen with 500 slots and 10,000 requests).
        settings.batching.worker_limit = None
        settings.batching.idle_timeout = 5
        settings.batching.batch_window = 0.0
        settings.persistence.diffbase_storage = NoDiffBase()

    @kopf.index(kube.GROUP, kube.VERSION, kube.PLURAL, registry=registry, id="requests_by_namespace")
    async def requests_by_namespace(**kwargs: Any) -> dict[str, Any]:
        return {kwargs["namespace"]: slim(kwargs["body"])}

    @kopf.index("apps", "v1", "deployments", registry=registry, id="deployments_by_namespace")
    async def deployments_by_namespace(**kwargs: Any) -> dict[str, Any]:
        return {kwargs["namespace"]: slim(kwargs["body"])}

    @kopf.index("apps", "v1", "replicasets", registry=registry, id="replicasets_by_namespace")
    async def replicasets_by_namespace(**kwargs: Any) -> dict[str, Any]:
        return {kwargs["namespace"]: slim(kwargs["body"])}

    @kopf.index("", "v1", "pods", registry=registry, id="pods_by_namespace")
    async def pods_by_namespace(**kwargs: Any) -> dict[str, Any]:
        return {kwargs["namespace"]: slim(kwargs["body"])}

    @kopf.on.event(kube.GROUP, kube.VERSION, kube.PLURAL, registry=registry)
    async def request_changed(**kwargs: Any) -> None:
        cache.attach(kwargs)
        workers.wake(kwargs["namespace"])

    def active_here(**kwargs: Any) -> bool:
        return workers.has_work(kwargs["namespace"])

    @kopf.on.event("apps", "v1", "deployments", registry=registry, when=active_here)
    async def deployment_changed(**kwargs: Any) -> None:
        cache.attach(kwargs)
        workers.wake(kwargs["namespace"])

    @kopf.on.event("apps", "v1", "replicasets", registry=registry, when=active_here)
    async def replicaset_changed(**kwargs: Any) -> None:
        cache.attach(kwargs)
        workers.wake(kwargs["namespace"])

    @kopf.on.event("", "v1", "pods", registry=registry, when=active_here)
    async def pod_changed(**kwargs: Any) -> None:
        cache.attach(kwargs)
        workers.wake(kwargs["namespace"])

    @kopf.on.cleanup(registry=registry)
    async def stop_workers(**_: Any) -> None:
        await workers.stop()
        await workers.ctx.recorder.drain()

    return registry
