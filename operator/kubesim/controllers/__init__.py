"""Simulated controllers: Deployment, ReplicaSet, kubelet, garbage collector, namespace lifecycle.

They run in kubesim's event loop and talk to the store directly. ``ControllerSettings`` may be changed at runtime
(through ``/kubesim/settings``): image and readiness settings apply to pods created afterwards (a pod already
crash-looping keeps doing so); ``crashloop_restart_seconds`` is re-read before each restart.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from kubesim.store import Store


@dataclass
class ControllerSettings:
    pod_ready_seconds: float = 1.0
    """Delay between a container running and its pod turning Ready (0 allowed)."""

    fail_images: list[str] = field(default_factory=list)
    """Globs (fnmatch) of images whose containers start but crash-loop (CrashLoopBackOff, climbing restartCount)."""

    unpullable_images: list[str] = field(default_factory=list)
    """Globs (fnmatch) of images that never pull (ErrImagePull, then ImagePullBackOff); such pods stay Pending."""

    crashloop_restart_seconds: float = 0.5
    """How often a crash-looping container restarts (far faster than the real back-off, to keep tests quick)."""

    image_pull_seconds: float = 0.05
    """How long a pod shows ContainerCreating before its containers run (or fail to pull)."""


async def run_controllers(store: Store, settings: ControllerSettings) -> None:
    """Run every controller until cancelled. Listeners attach before any controller writes, so none misses an
    event; objects already stored are replayed to each as ADDED."""
    from kubesim.controllers.deployment import DeploymentController
    from kubesim.controllers.gc import GarbageCollector
    from kubesim.controllers.kubelet import Kubelet
    from kubesim.controllers.namespace import NamespaceController
    from kubesim.controllers.replicaset import ReplicaSetController

    controllers = [
        DeploymentController(store),
        ReplicaSetController(store),
        GarbageCollector(store),
        NamespaceController(store),
    ]
    kubelet = Kubelet(store, settings)
    for controller in controllers:
        controller.attach()
    kubelet.attach()
    for controller in controllers:
        controller.replay()
    kubelet.replay()
    tasks = [asyncio.create_task(c.run(), name=f"kubesim-{c.name}") for c in controllers]
    tasks.append(asyncio.create_task(kubelet.run(), name="kubesim-kubelet"))
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["ControllerSettings", "run_controllers"]
