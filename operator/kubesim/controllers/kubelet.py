"""A simulated kubelet: every pod is scheduled on ``kubesim-node``, pulls, starts, and gets Ready after
``pod_ready_seconds``; images matching ``fail_images`` crash-loop, ``unpullable_images`` never pull."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import itertools
import logging
from typing import TYPE_CHECKING, Any

from kubesim import errors
from kubesim.resources import ResourceType
from kubesim.store import Event, Store, clone, now_rfc3339

if TYPE_CHECKING:
    from kubesim.controllers import ControllerSettings

log = logging.getLogger(__name__)
Obj = dict[str, Any]
NODE = "kubesim-node"


def _digest(image: str) -> str:
    """A pulled image's ID, ``<repository>@sha256:<digest>`` (the digest is made up, stable per image)."""
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
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

    async def _lifecycle(self, pod: Obj) -> None:
        s = self.settings
        containers = pod["spec"].get("containers") or []
        images = [c.get("image", "") for c in containers]
        start = now_rfc3339(self.store.clock)
        ip = f"10.244.0.{next(self._ips) % 250 + 2}"
        base: Obj = {
            "phase": "Pending",
            "hostIP": "10.0.0.1",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": start,
            "qosClass": "BestEffort",
        }

        ready_since: list[str] = []  # when Ready turned True (kept so transition times stay put)
        names = " ".join(c["name"] for c in containers)
        not_ready = {"reason": "ContainersNotReady", "message": f"containers with unready status: [{names}]"}

        def conditions(ready: bool, sandbox: bool = True) -> list[Obj]:
            if ready and not ready_since:
                ready_since.append(now_rfc3339(self.store.clock))
            ready_at = ready_since[0] if ready else start
            value = "True" if ready else "False"
            return [
                {"type": "PodReadyToStartContainers", "status": str(sandbox), "lastTransitionTime": start},
                {"type": "Initialized", "status": "True", "lastTransitionTime": start},
                {
                    "type": "Ready",
                    "status": value,
                    "lastTransitionTime": ready_at,
                    **({} if ready else not_ready),
                },
                {
                    "type": "ContainersReady",
                    "status": value,
                    "lastTransitionTime": ready_at,
                    **({} if ready else not_ready),
                },
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": start},
            ]

        def statuses(state: Obj, ready: bool, restarts: int = 0, last: Obj | None = None) -> list[Obj]:
            created = "running" in state or bool(last)
            return [
                {
                    "name": c["name"],
                    "image": c.get("image"),
                    "imageID": _digest(str(c.get("image", ""))) if created else "",
                    **({"containerID": _container_id(pod, c["name"], restarts)} if created else {}),
                    "ready": ready,
                    "started": "running" in state,
                    "restartCount": restarts,
                    "state": state,
                    "lastState": last or {},
                }
                for c in containers
            ]

        creating = {"waiting": {"reason": "ContainerCreating"}}
        if (
            self._write(
                pod,
                {
                    **base,
                    "conditions": conditions(False, sandbox=False),
                    "containerStatuses": statuses(creating, False),
                },
            )
            is None
        ):
            return
        await asyncio.sleep(max(0.0, s.image_pull_seconds))
        if self._matches(images, list(s.unpullable_images)):
            image = images[0]
            for reason, message in (
                (
                    "ErrImagePull",
                    f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": '
                    f'failed to resolve reference "{image}": {image}: not found',
                ),
                ("ImagePullBackOff", f'Back-off pulling image "{image}"'),
            ):
                if (
                    self._write(
                        pod,
                        {
                            **base,
                            "conditions": conditions(False),
                            "containerStatuses": statuses(
                                {"waiting": {"reason": reason, "message": message}}, False
                            ),
                        },
                    )
                    is None
                ):
                    return
                await asyncio.sleep(max(0.1, s.crashloop_restart_seconds))
            return
        running = {"running": {"startedAt": now_rfc3339(self.store.clock)}}
        if self._matches(images, list(s.fail_images)):
            restarts = 0
            while True:
                if (
                    self._write(
                        pod,
                        {
                            **base,
                            "phase": "Running",
                            "conditions": conditions(False),
                            "containerStatuses": statuses(running, False, restarts),
                        },
                    )
                    is None
                ):
                    return
                await asyncio.sleep(max(0.05, s.crashloop_restart_seconds / 2))
                restarts += 1
                finished = now_rfc3339(self.store.clock)
                last = {
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "startedAt": start,
                        "finishedAt": finished,
                    }
                }
                back_off = min(300, 10 * 2 ** (restarts - 1))
                waiting = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off {back_off}s restarting failed container="
                        f"{containers[0]['name']} pod={pod['metadata']['name']}_"
                        f"{pod['metadata']['namespace']}({pod['metadata']['uid']})",
                    }
                }
                if (
                    self._write(
                        pod,
                        {
                            **base,
                            "phase": "Running",
                            "conditions": conditions(False),
                            "containerStatuses": statuses(waiting, False, restarts, last),
                        },
                    )
                    is None
                ):
                    return
                await asyncio.sleep(max(0.05, s.crashloop_restart_seconds / 2))
                running = {"running": {"startedAt": now_rfc3339(self.store.clock)}}
                if restarts >= 1000:
                    return
        if (
            self._write(
                pod,
                {
                    **base,
                    "phase": "Running",
                    "conditions": conditions(False),
                    "containerStatuses": statuses(running, False),
                },
            )
            is None
        ):
            return
        await asyncio.sleep(max(0.0, s.pod_ready_seconds))
        self._write(
            pod,
            {
                **base,
                "phase": "Running",
                "conditions": conditions(True),
                "containerStatuses": statuses(running, True),
            },
        )

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
