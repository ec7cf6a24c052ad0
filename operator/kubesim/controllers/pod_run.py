"""One pod's run on a Node: its containers and the pod status a kubelet writes after every step (phase, the five
conditions with stable transition times, container statuses). Pure apart from the clock it is given."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubesim.controllers.container_states import Container, normalized_image, pod_phase, split_image
from kubesim.storage.objects import now_rfc3339

Obj = dict[str, Any]


def _digest(image: str) -> str:
    """A pulled image's ID, ``<repository>@sha256:<digest>`` (the digest is made up, stable per image)."""
    repository, _ = split_image(normalized_image(image))
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _container_id(pod: Obj, name: str, restarts: int) -> str:
    """A fresh container ID per start, as containerd gives."""
    seed = f"{pod['metadata']['uid']}/{name}/{restarts}"
    return f"containerd://{hashlib.sha256(seed.encode()).hexdigest()}"


def container_status(pod: Obj, c: Container) -> Obj:
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


@dataclass
class PodRun:
    """A pod as its kubelet sees it: the containers, the addresses, and when Ready or a terminal phase began."""

    pod: Obj
    containers: list[Container]
    base: Obj
    """hostIP(s), podIP(s), startTime, qosClass: what stays the same for the whole run."""
    clock: Callable[[], float]
    start: str = ""
    since: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.start = self.start or now_rfc3339(self.clock)

    def conditions(self, phase: str, sandbox: bool) -> list[Obj]:
        """PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled; a pod in a terminal phase
        is not ready with the reason ``PodFailed``/``PodCompleted`` and no message
        (generateContainersReadyConditionForTerminalPhase)."""
        unready = [c.name for c in self.containers if not c.ready]
        ready = bool(self.containers) and not unready
        terminal = phase in ("Failed", "Succeeded")
        if ready:
            self.since.setdefault("ready", now_rfc3339(self.clock))
        else:
            self.since.pop("ready", None)
        if terminal:
            self.since.setdefault("terminal", now_rfc3339(self.clock))
        why: Obj = {
            "reason": "ContainersNotReady",
            "message": f"containers with unready status: [{' '.join(unready)}]",
        }
        ready_at = self.since.get("ready", self.start)
        if terminal:
            why = {"reason": "PodFailed" if phase == "Failed" else "PodCompleted"}
            ready_at = self.since["terminal"]
        value = "True" if ready else "False"
        extra = {} if ready else why
        start = self.start
        return [
            {
                "type": "PodReadyToStartContainers",
                "status": str(sandbox and not terminal),
                "lastTransitionTime": start,
            },
            {"type": "Initialized", "status": "True", "lastTransitionTime": start},
            {"type": "Ready", "status": value, "lastTransitionTime": ready_at, **extra},
            {"type": "ContainersReady", "status": value, "lastTransitionTime": ready_at, **extra},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": start},
        ]

    def status(self, sandbox: bool = True) -> Obj:
        phase = pod_phase(self.containers)
        return {
            **self.base,
            "phase": phase,
            "conditions": self.conditions(phase, sandbox),
            "containerStatuses": [container_status(self.pod, c) for c in self.containers],
        }

    def due(self) -> float | None:
        """When the next container changes (None: the pod is settled)."""
        times = [c.next_at for c in self.containers if c.next_at is not None]
        return min(times) if times else None
