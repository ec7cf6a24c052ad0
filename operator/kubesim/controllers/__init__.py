"""Simulated controllers: Deployment, ReplicaSet, ReplicationController, StatefulSet, DaemonSet, Job, CronJob,
scheduler and kubelet, garbage collector, namespace lifecycle, the keepers of the bootstrap objects (default
ServiceAccounts, kube-root-ca.crt, aggregated ClusterRoles), and the admission policy status.

They run in kubesim's event loop and talk to the store directly. ``ControllerSettings`` may be changed at runtime
(through ``/kubesim/settings``): timings, ``fail_images`` and the time scale apply to pods created afterwards (a pod
already crash-looping keeps doing so); ``unpullable_images`` is read at every pull, so a pull retried after its
back-off succeeds once the image no longer matches.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from kubesim.storage.store import Store


@dataclass
class ControllerSettings:
    pod_ready_seconds: float = 1.0
    """Delay between a container starting and its turning Ready (0 allowed); times ``time_scale``."""

    fail_images: list[str] = field(default_factory=list)
    """Globs (fnmatch) of images whose containers exit 1 after ``crash_after_seconds``: terminated, restarted at once,
    then CrashLoopBackOff with the kubelet's back-off (10 s doubling to 5 min, times ``time_scale``)."""

    unpullable_images: list[str] = field(default_factory=list)
    """Globs (fnmatch) of images that cannot be pulled (ErrImagePull, then ImagePullBackOff, the pull retried on the
    kubelet's back-off); read at every pull, so removing a glob lets the next retry succeed."""

    crash_after_seconds: float = 0.2
    """How long a ``fail_images`` container runs before it exits (times ``time_scale``); longer than
    ``pod_ready_seconds``, the container turns Ready first and crashes later."""

    image_pull_seconds: float = 0.05
    """How long a new pod shows ContainerCreating before its containers run (or fail to pull); times ``time_scale``."""

    time_scale: float = 1.0
    """The factor every kubelet delay is multiplied by: pulls, readiness, crashes, syncs and back-offs. 1 is a real
    kubelet's timing; tests use 0.01 (a 10 s back-off lasts 0.1 s). Messages keep the unscaled figures."""


async def run_controllers(store: Store, settings: ControllerSettings, root_ca: str = "") -> None:
    """Run every controller until cancelled. Listeners attach before any controller writes, so none misses an
    event; objects already stored are replayed to each as ADDED. ``root_ca``: the PEM the kube-root-ca.crt
    ConfigMaps hold."""
    from kubesim.controllers.apiservices import APIServiceRegistrar
    from kubesim.controllers.bootstrap import ClusterRoleAggregator, RootCAPublisher, ServiceAccountController
    from kubesim.controllers.cronjob import CronJobController
    from kubesim.controllers.daemonset import DaemonSetController
    from kubesim.controllers.deployment import DeploymentController
    from kubesim.controllers.gc import GarbageCollector
    from kubesim.controllers.job import JobController
    from kubesim.controllers.kubelet import Kubelet
    from kubesim.controllers.namespace import NamespaceController
    from kubesim.controllers.policy_status import PolicyStatusController
    from kubesim.controllers.replicaset import ReplicaSetController, ReplicationControllerController
    from kubesim.controllers.statefulset import StatefulSetController

    controllers = [
        DeploymentController(store),
        ReplicaSetController(store),
        ReplicationControllerController(store),
        StatefulSetController(store),
        DaemonSetController(store),
        JobController(store, settings),
        CronJobController(store),
        APIServiceRegistrar(store),
        GarbageCollector(store),
        NamespaceController(store),
        ServiceAccountController(store),
        RootCAPublisher(store, root_ca),
        ClusterRoleAggregator(store),
        PolicyStatusController(store),
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
