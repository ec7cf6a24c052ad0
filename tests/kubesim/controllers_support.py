"""In-process kubesim for controller tests: the store with its admission hooks, the controllers running in the
test's event loop, and bounded waits woken by store events."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from kubesim.api.resources import ResourceType
from kubesim.controllers import ControllerSettings, run_controllers
from kubesim.simulator import Simulator
from kubesim.storage.store import Store
from kubesim.storage.watch import Event

Obj = dict[str, Any]


class Cluster:
    """A store plus running controllers; ``wait_for`` re-checks its predicate on every store change."""

    def __init__(self, store: Store, settings: ControllerSettings) -> None:
        self.store = store
        self.settings = settings
        self.changed = asyncio.Event()
        store.listeners.append(self._on_event)
        self.deployments = store.require("apps", "deployments")
        self.replicasets = store.require("apps", "replicasets")
        self.pods = store.require("", "pods")
        self.namespaces = store.require("", "namespaces")

    def _on_event(self, rt: ResourceType, event: Event) -> None:
        self.changed.set()

    async def wait_for(self, check: Callable[[], Any], within: float = 10.0, what: str = "condition") -> Any:
        """Return ``check()`` once it is truthy; fail after ``within`` seconds."""
        deadline = time.monotonic() + within
        while True:
            self.changed.clear()
            value = check()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out after {within}s waiting for {what}")
            # Timers inside controllers (deadlines, minReadySeconds) change state without a prior event here.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 0.2))

    async def quiet(self, seconds: float) -> bool:
        """True when nothing at all is written to the store for ``seconds``."""
        self.changed.clear()
        try:
            await asyncio.wait_for(self.changed.wait(), seconds)
        except TimeoutError:
            return True
        return False

    # --- helpers ----------------------------------------------------------------------------------------

    def create_deployment(
        self,
        name: str = "web",
        image: str = "nginx:1.0",
        replicas: int = 3,
        namespace: str = "default",
        **spec: Any,
    ) -> Obj:
        body: Obj = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "app", "image": image}]},
                },
                **spec,
            },
        }
        return self.store.create(self.deployments, namespace, body)

    def deployment(self, name: str = "web", namespace: str = "default") -> Obj:
        return self.store.get(self.deployments, namespace, name)

    def set_image(self, image: str, name: str = "web", namespace: str = "default") -> Obj:
        dep = self.deployment(name, namespace)
        dep["spec"]["template"]["spec"]["containers"][0]["image"] = image
        return self.store.update(self.deployments, namespace, name, dep)

    def update_spec(self, name: str = "web", namespace: str = "default", **spec: Any) -> Obj:
        dep = self.deployment(name, namespace)
        dep["spec"].update(spec)
        return self.store.update(self.deployments, namespace, name, dep)

    def replica_sets(self, name: str = "web", namespace: str = "default") -> list[Obj]:
        uid = self.deployment(name, namespace)["metadata"]["uid"]
        return [
            rs
            for rs in self.store.iter(self.replicasets, namespace)
            if any(r.get("uid") == uid for r in rs["metadata"].get("ownerReferences") or [])
        ]

    def pods_of(self, rs_name: str, namespace: str = "default") -> list[Obj]:
        return [
            p
            for p in self.store.iter(self.pods, namespace)
            if any(r.get("name") == rs_name for r in p["metadata"].get("ownerReferences") or [])
        ]

    def all_pods(self, namespace: str = "default") -> list[Obj]:
        return list(self.store.iter(self.pods, namespace))

    def rolled_out(self, name: str = "web", namespace: str = "default") -> bool:
        """What ``kubectl rollout status`` calls success."""
        dep = self.store.peek(self.deployments, namespace, name)
        if dep is None:
            return False
        status = dep.get("status") or {}
        want = dep["spec"].get("replicas", 1)
        return bool(
            status.get("observedGeneration", 0) >= dep["metadata"]["generation"]
            and status.get("updatedReplicas", 0) == want
            and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want
        )

    def condition(self, type_: str, name: str = "web", namespace: str = "default") -> Obj | None:
        dep = self.store.peek(self.deployments, namespace, name) or {}
        for cond in (dep.get("status") or {}).get("conditions") or []:
            if cond["type"] == type_:
                return cond  # type: ignore[no-any-return]
        return None


CRASH_BEFORE_READY: dict[str, Any] = {"fail_images": ["bad/*"], "pod_ready_seconds": 1, "time_scale": 0.05}
"""``bad/*`` images exit (after 0.2 s times 0.05) before they would turn Ready (1 s times 0.05): never available."""


@contextlib.asynccontextmanager
async def running_cluster(**settings: Any) -> AsyncIterator[Cluster]:
    """kubesim's store (default namespaces, admission) with all controllers running; pods Ready at once unless
    ``pod_ready_seconds`` says otherwise (crash-loop tests pass ``time_scale`` for fast back-offs)."""
    settings.setdefault("pod_ready_seconds", 0.0)
    cfg = ControllerSettings(**settings)
    sim = Simulator(settings=cfg)
    cluster = Cluster(sim.store, cfg)
    task = asyncio.create_task(run_controllers(sim.store, cfg))
    try:
        yield cluster
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
