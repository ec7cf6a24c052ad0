"""Simulated controllers: Deployment, ReplicaSet, kubelet, garbage collector, namespace lifecycle.

They run in kubesim's event loop and talk to the store directly. ``ControllerSettings`` may be changed at runtime
(through ``/kubesim/settings``); kubelet changes apply to pods started afterwards.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from kubesim.store import Event, Store


@dataclass
class ControllerSettings:
    pod_ready_seconds: float = 1.0
    """Delay between a container running and its pod turning Ready."""

    fail_images: list[str] = field(default_factory=list)
    """Globs of images whose containers start but crash-loop (CrashLoopBackOff, climbing restartCount)."""

    unpullable_images: list[str] = field(default_factory=list)
    """Globs of images that never pull (ErrImagePull, then ImagePullBackOff)."""

    crashloop_restart_seconds: float = 0.5
    """How often a crash-looping container restarts (far faster than the real back-off, to keep tests quick)."""


async def run_controllers(store: Store, settings: ControllerSettings) -> None:
    from kubesim.controllers.deployment import DeploymentController
    from kubesim.controllers.gc import GarbageCollector, NamespaceController
    from kubesim.controllers.kubelet import Kubelet
    from kubesim.controllers.replicaset import ReplicaSetController

    deployments = DeploymentController(store)
    replicasets = ReplicaSetController(store)
    gc = GarbageCollector(store)
    namespaces = NamespaceController(store)
    for controller in (deployments, replicasets):
        for rt in (store.require("apps", "deployments"), store.require("apps", "replicasets")):
            for obj in store.iter(rt):
                controller.on_event(rt, Event("ADDED", obj, 0))
    for ns in store.iter(store.require("", "namespaces")):
        namespaces.enqueue(("", ns["metadata"]["name"]))
    tasks = [asyncio.create_task(c.run()) for c in (deployments, replicasets, gc, namespaces)]
    tasks.append(asyncio.create_task(Kubelet(store, settings).run()))
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["ControllerSettings", "run_controllers"]
