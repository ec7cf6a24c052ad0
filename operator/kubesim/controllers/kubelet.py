"""The simulated scheduler and kubelets: every pod is bound to a Node (``scheduler.choose_node``: the least loaded
that fits), pulls, starts, and gets Ready after ``pod_ready_seconds``; a Job's containers then complete; images
matching ``fail_images`` crash-loop and ``unpullable_images`` fail to pull, each container stepping through what a
real kubelet shows (``container_states``), every delay times ``time_scale``."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import itertools
import logging
from typing import TYPE_CHECKING, Any

from kubesim.api import errors
from kubesim.api.resources import ResourceType
from kubesim.controllers.base import controller_ref
from kubesim.controllers.container_states import Container, Timing, normalized_image
from kubesim.controllers.pod_run import PodRun
from kubesim.controllers.qos import qos_class
from kubesim.controllers.scheduler import choose_node, unschedulable_message
from kubesim.storage.objects import clone, now_rfc3339
from kubesim.storage.store import Store
from kubesim.storage.watch import Event

if TYPE_CHECKING:
    from kubesim.controllers import ControllerSettings

__all__ = ["Kubelet", "normalized_image"]
log = logging.getLogger(__name__)
Obj = dict[str, Any]
MAX_TRANSITIONS = 2000
"""A pod's containers stop changing after this many transitions (a crash loop of about a thousand restarts)."""


def _host_ip(node: Obj | None) -> str:
    for address in ((node or {}).get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address["address"])
    return "10.0.0.1"


class Kubelet:
    def __init__(self, store: Store, settings: ControllerSettings) -> None:
        self.store = store
        self.settings = settings
        self.pods = store.require("", "pods")
        self.nodes = store.require("", "nodes")
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ips = itertools.count(2)
        self._load: dict[str, int] = {}  # pods bound to each Node
        self._bound: dict[str, str] = {}  # pod uid -> Node

    def on_event(self, rt: ResourceType, event: Event) -> None:
        if rt.key != ("", "pods"):
            return
        uid = event.object["metadata"]["uid"]
        if event.type == "ADDED" and uid not in self._tasks and uid not in self._bound:
            node = self._schedule(event.object)
            if node is not None:
                self._tasks[uid] = asyncio.get_running_loop().create_task(self._run(event.object, node))
        elif event.type == "DELETED":
            task = self._tasks.pop(uid, None)
            if task is not None:
                task.cancel()
            node = self._bound.pop(uid, None)
            if node is not None:
                self._load[node] -= 1

    def _schedule(self, pod: Obj) -> str | None:
        """The pod's Node: the one it names, else the scheduler's choice; None (and the pod left Pending with
        PodScheduled False) when no Node fits."""
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return None
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            nodes = list(self.store.iter(self.nodes))
            node = choose_node(pod, nodes, self._load)
            if node is None:
                self._unschedulable(pod, len(nodes))
                return None
        self._bound[pod["metadata"]["uid"]] = node
        self._load[node] = self._load.get(node, 0) + 1
        return str(node)

    def _unschedulable(self, pod: Obj, total: int) -> None:
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "lastTransitionTime": now_rfc3339(self.store.clock),
            "reason": "Unschedulable",
            "message": unschedulable_message(total),
        }
        self._write(pod, {"phase": "Pending", "conditions": [condition], "qosClass": qos_class(pod)}, None)

    def _matches(self, images: list[str], globs: list[str]) -> bool:
        return any(fnmatch.fnmatch(image, g) for image in images for g in globs)

    def _write(self, pod: Obj, status: Obj, node: str | None) -> Obj | None:
        """The pod's status (bound to ``node`` first, as the scheduler's binding does); None once the pod is gone."""
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        current = self.store.peek(self.pods, ns, name)
        if current is None or current["metadata"]["uid"] != pod["metadata"]["uid"]:
            return None
        updated = clone(current)
        updated["status"] = status
        try:
            if node is not None and not updated["spec"].get("nodeName"):
                updated["spec"]["nodeName"] = node
                updated = self.store.update(self.pods, ns, name, updated)
                updated["status"] = status
            return self.store.update(self.pods, ns, name, updated, subresource="status")
        except errors.ApiError:
            return None

    async def _run(self, pod: Obj, node: str) -> None:
        try:
            await self._lifecycle(pod, node)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("kubelet: pod %s", pod["metadata"].get("name"))
        finally:
            self._tasks.pop(pod["metadata"]["uid"], None)

    def timing(self) -> Timing:
        """The current settings' delays, scaled."""
        s = self.settings
        k = max(0.0, s.time_scale)
        return Timing(
            pull=max(0.0, s.image_pull_seconds) * k,
            ready=max(0.0, s.pod_ready_seconds) * k,
            crash_after=max(0.0, s.crash_after_seconds) * k,
            scale=k,
        )

    def _unpullable(self, image: str) -> bool:
        return self._matches([image], list(self.settings.unpullable_images))

    def _start(self, pod: Obj, node: str) -> PodRun:
        """The pod's run as its kubelet begins it: containers per the current settings (a Job's complete), the
        Node's address, a pod IP, the QoS class."""
        spec = pod["spec"]
        completes = (controller_ref(pod) or {}).get("kind") == "Job"
        containers = [
            Container(
                name=str(c["name"]),
                image=str(c.get("image", "")),
                crash_loops=self._matches([str(c.get("image", ""))], list(self.settings.fail_images)),
                restart=spec.get("restartPolicy") != "Never",
                completes=completes,
            )
            for c in spec.get("containers") or []
        ]
        host = _host_ip(self.store.peek(self.nodes, None, node))
        ip = f"10.244.{host.rsplit('.', 1)[-1]}.{next(self._ips) % 250 + 2}"
        base: Obj = {"hostIP": host, "hostIPs": [{"ip": host}], "podIP": ip, "podIPs": [{"ip": ip}]}
        run = PodRun(pod, containers, base, self.store.clock)
        base |= {"startTime": run.start, "qosClass": qos_class(pod)}
        return run

    async def _lifecycle(self, pod: Obj, node: str) -> None:
        """Each container steps through its own states (``container_states``); the pod's status is written after
        every step, with the phase and conditions the containers imply."""
        timing = self.timing()
        meta = pod["metadata"]
        pod_ref = f"{meta['name']}_{meta['namespace']}({meta['uid']})"
        run = self._start(pod, node)
        loop = asyncio.get_running_loop()
        if self._write(pod, run.status(sandbox=False), node) is None:
            return
        for c in run.containers:
            c.begin(loop.time(), timing)
        for _ in range(MAX_TRANSITIONS):
            due = run.due()
            if due is None:
                return
            await asyncio.sleep(max(0.0, due - loop.time()))
            now = loop.time()
            stamp = now_rfc3339(self.store.clock)
            for c in run.containers:
                if c.next_at is not None and c.next_at <= now:
                    c.advance(now, stamp, timing, self._unpullable, pod_ref)
            if self._write(pod, run.status(), node) is None:
                return

    def attach(self) -> None:
        if self.on_event not in self.store.listeners:
            self.store.listeners.append(self.on_event)

    def replay(self) -> None:
        for pod in list(self.store.iter(self.pods)):
            self.on_event(self.pods, Event("ADDED", pod, 0))

    async def run(self) -> None:
        self.attach()
        try:
            await asyncio.Event().wait()
        finally:
            if self.on_event in self.store.listeners:
                self.store.listeners.remove(self.on_event)
            for task in list(self._tasks.values()):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
