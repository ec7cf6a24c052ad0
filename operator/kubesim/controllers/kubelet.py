"""A simulated kubelet: every pod is scheduled on ``kubesim-node``, pulls, starts, and gets Ready after
``pod_ready_seconds``; images matching ``fail_images`` crash-loop, ``unpullable_images`` never pull."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import itertools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kubesim import errors
from kubesim.controllers.qos import qos_class
from kubesim.resources import ResourceType
from kubesim.store import Event, Store, clone, now_rfc3339

if TYPE_CHECKING:
    from kubesim.controllers import ControllerSettings

log = logging.getLogger(__name__)
Obj = dict[str, Any]
NODE = "kubesim-node"
HOST_IP = "10.0.0.1"


def _split(image: str) -> tuple[str, str]:
    """``(repository, tag-or-digest suffix)`` of an image reference, e.g. ``("nginx", ":1.0")``."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, f"@{digest}"
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = image.rsplit(":", 1)
        return name, f":{tag}"
    return image, ""


def normalized_image(image: str) -> str:
    """The reference containerd reports for an image (docker's ParseNormalizedNamed): ``nginx:1.0`` becomes
    ``docker.io/library/nginx:1.0``, ``quay.io/x/y`` becomes ``quay.io/x/y:latest``."""
    name, suffix = _split(image)
    first, _, rest = name.partition("/")
    if not rest or not ("." in first or ":" in first or first == "localhost"):
        name = f"docker.io/{name}" if rest else f"docker.io/library/{name}"
    return f"{name}{suffix or ':latest'}"


def _digest(image: str) -> str:
    """A pulled image's ID, ``<repository>@sha256:<digest>`` (the digest is made up, stable per image)."""
    repository, _ = _split(normalized_image(image))
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
        """Creating, then each container runs (and turns ready), crash-loops or fails to pull, on its own."""
        s = self.settings
        containers = pod["spec"].get("containers") or []
        unpullable = [self._matches([str(c.get("image", ""))], list(s.unpullable_images)) for c in containers]
        crashing = [
            not bad and self._matches([str(c.get("image", ""))], list(s.fail_images))
            for c, bad in zip(containers, unpullable, strict=True)
        ]
        clock = self.store.clock
        start = now_rfc3339(clock)
        ip = f"10.244.0.{next(self._ips) % 250 + 2}"
        base: Obj = {"hostIP": HOST_IP, "hostIPs": [{"ip": HOST_IP}], "podIP": ip, "podIPs": [{"ip": ip}]}
        base |= {"startTime": start, "qosClass": qos_class(pod)}
        ready_since: list[str] = []  # when Ready turned True (kept so transition times stay put)

        def conditions(
            ready: bool, unready: list[str], sandbox: bool = True, failed: bool = False
        ) -> list[Obj]:
            if ready and not ready_since:
                ready_since.append(now_rfc3339(clock))
            ready_at = ready_since[0] if ready else start
            value = "True" if ready else "False"
            why: Obj = {
                "reason": "ContainersNotReady",
                "message": f"containers with unready status: [{' '.join(unready)}]",
            }
            if failed:  # generateContainersReadyConditionForTerminalPhase: no message
                why = {"reason": "PodFailed"}
                ready_at = failed_at[0] if failed_at else start
            return [
                {"type": "PodReadyToStartContainers", "status": str(sandbox), "lastTransitionTime": start},
                {"type": "Initialized", "status": "True", "lastTransitionTime": start},
                {"type": "Ready", "status": value, "lastTransitionTime": ready_at, **({} if ready else why)},
                {
                    "type": "ContainersReady",
                    "status": value,
                    "lastTransitionTime": ready_at,
                    **({} if ready else why),
                },
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": start},
            ]

        def container_status(
            c: Obj, state: Obj, ready: bool, restarts: int = 0, last: Obj | None = None
        ) -> Obj:
            created = "running" in state or "terminated" in state or bool(last)
            return {
                "name": c["name"],
                # Before a container exists the kubelet shows the spec's image, afterwards containerd's reference.
                "image": normalized_image(str(c.get("image", ""))) if created else c.get("image"),
                "imageID": _digest(str(c.get("image", ""))) if created else "",
                **({"containerID": _container_id(pod, c["name"], restarts)} if created else {}),
                "ready": ready,
                "started": "running" in state,
                "restartCount": restarts,
                "state": state,
                "lastState": last or {},
            }

        def write(phase: str, statuses: list[Obj], sandbox: bool = True) -> bool:
            unready = [st["name"] for st in statuses if not st["ready"]]
            ready = bool(statuses) and not unready
            failed = phase == "Failed"
            status = {
                **base,
                "phase": phase,
                "conditions": conditions(ready, unready, sandbox and not failed, failed),
                "containerStatuses": statuses,
            }
            return self._write(pod, status) is not None

        creating = {"waiting": {"reason": "ContainerCreating"}}
        if not write("Pending", [container_status(c, creating, False) for c in containers], sandbox=False):
            return
        await asyncio.sleep(max(0.0, s.image_pull_seconds))
        started = clock()
        running_since = now_rfc3339(clock)
        phase = "Pending" if any(unpullable) else "Running"

        def healthy(c: Obj, ready: bool) -> Obj:
            return container_status(c, {"running": {"startedAt": running_since}}, ready)

        if not any(unpullable) and not any(crashing):
            if not write(phase, [healthy(c, False) for c in containers]):
                return
            await asyncio.sleep(max(0.0, s.pod_ready_seconds))
            write(phase, [healthy(c, True) for c in containers])
            return
        # Some container never works: tick through its failure cycle; the healthy ones run and turn ready.
        restarts = 0
        last_start = running_since
        never = pod["spec"].get("restartPolicy") == "Never"
        failed_at: list[str] = []
        for tick in range(2000):
            backing_off = tick % 2 == 1
            if not backing_off and tick:
                restarts += 1
                last_start = now_rfc3339(clock)
            statuses = []
            for c, bad_pull, crash in zip(containers, unpullable, crashing, strict=True):
                if bad_pull:
                    image = str(c.get("image", ""))
                    ref = normalized_image(image)
                    reason, message = (
                        ("ImagePullBackOff", f'Back-off pulling image "{image}"')
                        if backing_off
                        else (
                            "ErrImagePull",
                            f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
                            f'failed to resolve reference "{ref}": {ref}: not found',
                        )
                    )
                    statuses.append(
                        container_status(c, {"waiting": {"reason": reason, "message": message}}, False)
                    )
                elif crash and never:
                    # restartPolicy Never: the container runs once and stays terminated.
                    if tick and not failed_at:
                        failed_at.append(now_rfc3339(clock))
                    state = {"running": {"startedAt": running_since}}
                    if failed_at:
                        state = self._terminated(running_since, failed_at[0])
                    statuses.append(container_status(c, state, False))
                elif crash:
                    statuses.append(
                        self._crash_status(pod, c, backing_off, restarts, last_start, container_status)
                    )
                else:
                    statuses.append(healthy(c, clock() - started >= s.pod_ready_seconds))
            done = never and bool(failed_at) and all(crashing)  # every container exited: the pod failed
            if not write("Failed" if done else phase, statuses) or done:
                return
            await asyncio.sleep(max(0.05, s.crashloop_restart_seconds / 2))

    def _crash_status(
        self, pod: Obj, c: Obj, backing_off: bool, restarts: int, last_start: str, build: Callable[..., Obj]
    ) -> Obj:
        """A crash-looping container: running (restart n), then exited and waiting in CrashLoopBackOff."""
        if not backing_off:
            last = self._terminated(last_start) if restarts else None
            return build(c, {"running": {"startedAt": last_start}}, False, restarts, last)
        meta = pod["metadata"]
        back_off = min(300, 10 * 2**restarts)
        message = (
            f"back-off {back_off}s restarting failed container={c['name']} "
            f"pod={meta['name']}_{meta['namespace']}({meta['uid']})"
        )
        waiting = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
        return build(c, waiting, False, restarts + 1, self._terminated(last_start))

    def _terminated(self, started_at: str, finished_at: str | None = None) -> Obj:
        finished = finished_at or now_rfc3339(self.store.clock)
        return {
            "terminated": {"exitCode": 1, "reason": "Error", "startedAt": started_at, "finishedAt": finished}
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
