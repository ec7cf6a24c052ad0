"""A simulated kubelet: every pod is scheduled on ``kubesim-node``, pulls, starts, and gets Ready after
``pod_ready_seconds``; images matching ``fail_images`` crash-loop and ``unpullable_images`` fail to pull, each
container stepping through what a real kubelet shows (``container_states``), every delay times ``time_scale``."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import itertools
import logging
from typing import TYPE_CHECKING, Any

from kubesim.api import errors
from kubesim.api.resources import ResourceType
from kubesim.controllers.container_states import Container, Timing, normalized_image, pod_phase, split_image
from kubesim.controllers.qos import qos_class
from kubesim.storage.objects import clone, now_rfc3339
from kubesim.storage.store import Store
from kubesim.storage.watch import Event

if TYPE_CHECKING:
    from kubesim.controllers import ControllerSettings

__all__ = ["HOST_IP", "NODE", "Kubelet", "normalized_image"]
log = logging.getLogger(__name__)
Obj = dict[str, Any]
NODE = "kubesim-node"
HOST_IP = "10.0.0.1"
MAX_TRANSITIONS = 2000
"""A pod's containers stop changing after this many transitions (a crash loop of about a thousand restarts)."""


def _digest(image: str) -> str:
    """A pulled image's ID, ``<repository>@sha256:<digest>`` (the digest is made up, stable per image)."""
    repository, _ = split_image(normalized_image(image))
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _container_id(pod: Obj, name: str, restarts: int) -> str:
    """A fresh container ID per start, as containerd gives."""
    seed = f"{pod['metadata']['uid']}/{name}/{restarts}"
    return f"containerd://{hashlib.sha256(seed.encode()).hexdigest()}"


class Kubelet:
    def __init__(self, store: Store, settings: ControllerSettings) -> None:
        self.store = store
        self.settings = settings
        self.pods = store.require("", "pods")
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._ips = itertools.count(2)

    def on_event(self, rt: ResourceType, event: Event) -> None:
        if rt.key != ("", "pods"):
            return
        uid = event.object["metadata"]["uid"]
        if event.type == "ADDED" and uid not in self._tasks:
            self._tasks[uid] = asyncio.get_running_loop().create_task(self._run(event.object))
        elif event.type == "DELETED":
            task = self._tasks.pop(uid, None)
            if task is not None:
                task.cancel()

    def _matches(self, images: list[str], globs: list[str]) -> bool:
        return any(fnmatch.fnmatch(image, g) for image in images for g in globs)

    def _write(self, pod: Obj, status: Obj) -> Obj | None:
        current = self.store.peek(self.pods, pod["metadata"]["namespace"], pod["metadata"]["name"])
        if current is None or current["metadata"]["uid"] != pod["metadata"]["uid"]:
            return None
        updated = clone(current)
        updated["status"] = status
        if not updated["spec"].get("nodeName"):
            updated["spec"]["nodeName"] = NODE
            updated = self.store.update(
                self.pods, pod["metadata"]["namespace"], pod["metadata"]["name"], updated
            )
            updated["status"] = status
        try:
            return self.store.update(
                self.pods,
                pod["metadata"]["namespace"],
                pod["metadata"]["name"],
                updated,
                subresource="status",
            )
        except errors.ApiError:
            return None

    async def _run(self, pod: Obj) -> None:
        try:
            await self._lifecycle(pod)
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

    async def _lifecycle(self, pod: Obj) -> None:
        """Each container steps through its own states (``container_states``); the pod's status is written after
        every step, with the phase and conditions the containers imply."""
        timing = self.timing()
        never = pod["spec"].get("restartPolicy") == "Never"
        meta = pod["metadata"]
        pod_ref = f"{meta['name']}_{meta['namespace']}({meta['uid']})"
        containers = [
            Container(
                name=str(c["name"]),
                image=str(c.get("image", "")),
                crash_loops=self._matches([str(c.get("image", ""))], list(self.settings.fail_images)),
                restart=not never,
            )
            for c in pod["spec"].get("containers") or []
        ]
        clock = self.store.clock
        loop = asyncio.get_running_loop()
        start = now_rfc3339(clock)
        ip = f"10.244.0.{next(self._ips) % 250 + 2}"
        base: Obj = {"hostIP": HOST_IP, "hostIPs": [{"ip": HOST_IP}], "podIP": ip, "podIPs": [{"ip": ip}]}
        base |= {"startTime": start, "qosClass": qos_class(pod)}
        since: dict[str, str] = {}  # when Ready turned True, when the pod failed (transition times stay put)

        def conditions(phase: str, sandbox: bool) -> list[Obj]:
            unready = [c.name for c in containers if not c.ready]
            ready = bool(containers) and not unready
            failed = phase == "Failed"
            if ready:
                since.setdefault("ready", now_rfc3339(clock))
            else:
                since.pop("ready", None)
            if failed:
                since.setdefault("failed", now_rfc3339(clock))
            why: Obj = {
                "reason": "ContainersNotReady",
                "message": f"containers with unready status: [{' '.join(unready)}]",
            }
            ready_at = since.get("ready", start)
            if failed:  # generateContainersReadyConditionForTerminalPhase: no message
                why, ready_at = {"reason": "PodFailed"}, since["failed"]
            value = "True" if ready else "False"
            extra = {} if ready else why
            return [
                {
                    "type": "PodReadyToStartContainers",
                    "status": str(sandbox and not failed),
                    "lastTransitionTime": start,
                },
                {"type": "Initialized", "status": "True", "lastTransitionTime": start},
                {"type": "Ready", "status": value, "lastTransitionTime": ready_at, **extra},
                {"type": "ContainersReady", "status": value, "lastTransitionTime": ready_at, **extra},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": start},
            ]

        def write(sandbox: bool = True) -> bool:
            phase = pod_phase(containers)
            status = {
                **base,
                "phase": phase,
                "conditions": conditions(phase, sandbox),
                "containerStatuses": [self._container_status(pod, c) for c in containers],
            }
            return self._write(pod, status) is not None

        if not write(sandbox=False):
            return
        for c in containers:
            c.begin(loop.time(), timing)
        for _ in range(MAX_TRANSITIONS):
            due = [c.next_at for c in containers if c.next_at is not None]
            if not due:
                return
            await asyncio.sleep(max(0.0, min(due) - loop.time()))
            now = loop.time()
            stamp = now_rfc3339(clock)
            for c in containers:
                if c.next_at is not None and c.next_at <= now:
                    c.advance(now, stamp, timing, self._unpullable, pod_ref)
            if not write():
                return

    def _container_status(self, pod: Obj, c: Container) -> Obj:
        """A container's status: before it ever ran the kubelet shows the spec's image, afterwards containerd's."""
        created = c.ever_started
        return {
            "name": c.name,
            "image": normalized_image(c.image) if created else c.image,
            "imageID": _digest(c.image) if created else "",
            **({"containerID": _container_id(pod, c.name, c.restart_count)} if created else {}),
            "ready": c.ready,
            "started": c.started,
            "restartCount": c.restart_count,
            "state": c.state,
            "lastState": c.last_state,
        }

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
