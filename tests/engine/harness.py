"""One namespace worker stepped a pass at a time against an in-process kubesim, on a fake clock.

The worker is the operator's own (:class:`deployreq.engine.worker.NamespaceWorker` with its real actions, Lease lock,
gate runs and Event recorder); only what kopf and the informers would do is done here by hand: before each pass the
cache is filled from the API (:meth:`Bench.sync`), as the watches would have filled it. Every write the worker sends
is recorded (:attr:`Recorded.writes`), and a write can be made to fail once (:meth:`Recorded.fail_next`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deployreq import errors
from deployreq.api.request import Request
from deployreq.cluster import kube
from deployreq.cluster.cache import Cache, slim
from deployreq.cluster.credentials import Credentials
from deployreq.cluster.events import Recorder
from deployreq.config import Settings
from deployreq.engine.actions import Actions
from deployreq.engine.context import Context
from deployreq.engine.gate_runs import GateRuns
from deployreq.engine.worker import NamespaceWorker
from deployreq.gates import GateSettings, Guard, make_clients

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT / "crds" / "deploymentrequests.deployreq.dev.yaml"
NAMESPACE = "shop"
GOOD, BAD = "registry.example/web:2", "registry.example/web:2-crashloop"
Obj = dict[str, Any]


@dataclass
class Write:
    method: str
    path: str
    body: Any

    @property
    def status(self) -> Obj:
        """The status fields a status write sets (empty for other writes)."""
        if not self.path.endswith("/status") or not isinstance(self.body, dict):
            return {}
        return dict(self.body.get("status") or {})


class Recorded(kube.Kube):
    """The operator's API client, keeping every write it sends; ``fail_next`` makes one write fail before it is
    sent (as a lost connection or a stopped process would)."""

    def __init__(self, credentials: Credentials) -> None:
        super().__init__(credentials, attempts=1, backoff=0.01)
        self.writes: list[Write] = []
        self._fail: tuple[Callable[[Write], bool], Exception] | None = None

    def fail_next(self, matches: Callable[[Write], bool], error: Exception) -> None:
        self._fail = (matches, error)

    async def request(self, method: str, path: str, **kwargs: Any) -> Obj:
        if method != "GET" and "/events" not in path:
            write = Write(method, path, kwargs.get("body"))
            if self._fail is not None and self._fail[0](write):
                error, self._fail = self._fail[1], None
                raise error
            self.writes.append(write)
        return await super().request(method, path, **kwargs)

    def taken(self) -> list[Write]:
        """The writes since the last call."""
        taken, self.writes = self.writes, []
        return taken


class FakeClock:
    """Wall and monotonic time that move only when told (starting at the real time, as kubesim's objects do)."""

    def __init__(self) -> None:
        self.now = time.time()
        self.mono = 1000.0

    def wall(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds


@dataclass
class Bench:
    """A kubesim, and one operator process's worker for :data:`NAMESPACE` (``restart`` makes a fresh one)."""

    server: str
    token: str
    clock: FakeClock = field(default_factory=FakeClock)
    identity: str = "op-test"
    client: Recorded = field(init=False)
    worker: NamespaceWorker = field(init=False)
    index: dict[str, list[Obj]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.client = Recorded(Credentials(server=self.server, token=self.token, verify=False))
        self.worker = self._worker()

    def _worker(self) -> NamespaceWorker:
        cache = Cache()
        cache.requests_index = self.index
        recorder = Recorder(self.client, self.identity)
        gate_settings = GateSettings()
        ctx = Context(
            settings=Settings(identity=self.identity, all_namespaces=True),
            client=self.client,
            cache=cache,
            actions=Actions(self.client, cache, recorder, wall=self.clock.wall),
            recorder=recorder,
            wall=self.clock.wall,
            monotonic=self.clock.monotonic,
            gates=GateRuns(
                self.client,
                cache,
                gate_settings,
                make_clients(gate_settings),
                Guard.from_settings(gate_settings),
            ),
        )
        return NamespaceWorker(NAMESPACE, ctx)

    async def restart(self) -> None:
        """The operator process stops (its gate stages with it) and a new one starts with an empty memory."""
        await self.close_gates()
        self.index = {}
        self.worker = self._worker()

    async def close_gates(self) -> None:
        gates = self.worker.ctx.gates
        if gates is not None:
            await gates.close()
            await gates.clients.aclose()

    # --- the cluster, as the watches would show it ------------------------------------------------------

    async def sync(self) -> None:
        """Fill the worker's cache from the API, as kopf's index and the informers would be."""
        listed = await self.client.get(kube.request_path(NAMESPACE))
        self.index[NAMESPACE] = [slim(item) for item in listed.get("items", [])]
        cache = self.worker.ctx.cache
        for mirror, path in (
            (cache.deployments, f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments"),
            (cache.replicasets, f"/apis/apps/v1/namespaces/{NAMESPACE}/replicasets"),
            (cache.pods, f"/api/v1/namespaces/{NAMESPACE}/pods"),
            (cache.statefulsets, f"/apis/apps/v1/namespaces/{NAMESPACE}/statefulsets"),
            (cache.daemonsets, f"/apis/apps/v1/namespaces/{NAMESPACE}/daemonsets"),
            (cache.controllerrevisions, f"/apis/apps/v1/namespaces/{NAMESPACE}/controllerrevisions"),
        ):
            items = (await self.client.get(path)).get("items", [])
            mirror.replace([slim(item) for item in items])

    async def step(self, meanwhile: Callable[[], Awaitable[Any]] | None = None) -> list[Write]:
        """One worker pass on what the cluster shows now; returns the writes it sent. ``meanwhile`` runs after the
        cache is filled and before the pass (a write the worker has not seen yet). A failed pass is retried later,
        as the worker's loop does (:meth:`NamespaceWorker.attempt`)."""
        await self.sync()
        if meanwhile is not None:
            await meanwhile()
        self.client.taken()
        await self.worker.attempt(0.5)
        await self.worker.ctx.recorder.drain()
        return self.client.taken()

    async def request(self, name: str) -> Request:
        return Request.parse(await self.client.get(kube.request_path(NAMESPACE, name)))

    async def deployment(self) -> Obj:
        return await self.client.get(kube.deployment_path(NAMESPACE, "web"))

    async def until(self, check: Callable[[], Any], within: float = 20.0) -> None:
        """Wait (real time: kubesim's controllers run on it) until ``check()`` is truthy (it may be async)."""
        deadline = time.monotonic() + within
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not reached in {within}s: {check}")
            await asyncio.sleep(0.05)


def kinds(writes: list[Write]) -> list[str]:
    """Each write as "METHOD what": the request's status or metadata, the Deployment, the Lease."""
    named = []
    for write in writes:
        if write.path.endswith("/status"):
            what = "status"
        elif "/deploymentrequests/" in write.path:
            what = "request"
        elif "/deployments/" in write.path:
            what = "deployment"
        elif "/statefulsets/" in write.path:
            what = "statefulset"
        elif "/daemonsets/" in write.path:
            what = "daemonset"
        elif "/leases" in write.path:
            what = "lease"
        else:
            what = write.path
        named.append(f"{write.method} {what}")
    return named


async def rolled_out(bench: Bench) -> bool:
    dep = await bench.deployment()
    status = dep.get("status") or {}
    return (
        status.get("observedGeneration") == dep["metadata"]["generation"]
        and status.get("updatedReplicas") == 2
        and status.get("availableReplicas") == 2
        and status.get("replicas") == 2
    )


async def install(client: kube.Kube) -> None:
    """The CRD (Established), the namespace and a Deployment "web" of two replicas running image 1."""
    await client.create(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", yaml.safe_load(CRD.read_text())
    )
    crd = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD.stem}"
    for _ in range(200):
        conditions = (await client.get(crd)).get("status", {}).get("conditions") or []
        if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
            break
        await asyncio.sleep(0.05)
    await client.create("/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
    labels = {"app": "web"}
    await client.create(
        f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments",
        {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "app", "image": "registry.example/web:1"}]},
                },
            },
        },
    )


async def submit(client: kube.Kube, name: str, image: str, **spec: Any) -> Obj:
    body = {
        "apiVersion": "deployreq.dev/v1alpha1",
        "kind": "DeploymentRequest",
        "metadata": {"name": name},
        "spec": {"deployment": "web", "images": [{"container": "app", "image": image}], **spec},
    }
    return await client.create(kube.request_path(NAMESPACE), body)


def is_conflict(error: Exception) -> bool:
    return isinstance(error, errors.Conflict)
