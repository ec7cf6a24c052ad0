"""What a kubelet shows for one container, step by step: a pure state machine the simulated kubelet drives.

The sequences follow the real kubelet (``pkg/kubelet/kuberuntime/kuberuntime_manager.go`` ``doBackOff``,
``pkg/kubelet/images/image_manager.go`` ``EnsureImageExists``, both on a ``flowcontrol.Backoff`` of 10 s doubling to
``MaxContainerBackOff`` 5 min):

- **healthy**: ``waiting: ContainerCreating`` while the image is pulled, then ``running`` (started, not ready), then
  ready after the pod-ready delay.
- **crash loop** (``restartPolicy`` Always or OnFailure): the container runs ``crash_after`` seconds and exits 1.
  The first exit is shown ``terminated`` (reason Error) and the container is restarted at once (no back-off yet);
  ``restartCount`` 1, the exit in ``lastState.terminated``. Every later exit shows ``waiting: CrashLoopBackOff`` with
  ``back-off 10s restarting failed container=...`` (20 s, 40 s, ... 5 min) and the restart comes when that back-off
  is over. With ``restartPolicy: Never`` the container stays ``terminated``.
- **pull failure**: ``waiting: ErrImagePull`` (a pull just failed), ``ImagePullBackOff`` at the kubelet's next
  sync of the pod, and the pull is tried again when the back-off is over (10 s, 20 s, ... 5 min): a registry that
  answers again (the image no longer unpullable) lets the container start.

Times are seconds on the caller's clock, already multiplied by the time scale (``Timing``); the messages keep the
kubelet's unscaled figures (``back-off 10s``), as a real pod would show them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Obj = dict[str, Any]
BACKOFF_INITIAL = 10.0
"""The kubelet's first back-off, for restarts and pulls (``backOffPeriod``)."""
BACKOFF_MAX = 300.0
"""The kubelet's longest back-off (``MaxContainerBackOff``)."""
SYNC_SECONDS = 1.0
"""How soon the kubelet reports what a sync found (PLEG's relist period): a first exit stays ``terminated`` and a
failed pull ``ErrImagePull`` this long before the restart, or ``ImagePullBackOff``, shows."""
MIN_BACKOFF_SECONDS = 0.05
"""Floor of a scaled back-off, so that a time scale of 0 (instant pods) cannot spin a crash loop."""


def back_off(failures: int) -> float:
    """The kubelet's back-off after ``failures`` (>= 1) failures in a row: 10 s, 20 s, 40 s, ... at most 5 min."""
    return float(min(BACKOFF_MAX, BACKOFF_INITIAL * 2 ** max(0, failures - 1)))


@dataclass(frozen=True)
class Timing:
    """The delays of one pod, in seconds of the caller's clock (the kubelet's delays times the time scale)."""

    pull: float
    """ContainerCreating: how long a pull takes."""
    ready: float
    """From a container's start to its readiness."""
    crash_after: float
    """How long a crash-looping container runs before it exits 1."""
    scale: float = 1.0
    """The factor applied to the kubelet's own delays (back-offs, syncs)."""

    def kubelet(self, seconds: float) -> float:
        return seconds * self.scale

    def back_off(self, failures: int) -> float:
        return max(MIN_BACKOFF_SECONDS, back_off(failures) * self.scale)


Kind = Literal["healthy", "crash", "unpullable"]
Step = Literal["creating", "pull-failed", "pull-backoff", "running", "crashed", "backoff", "exited", "stable"]


@dataclass
class Container:
    """One container's state as the kubelet reports it, and when it changes next (``next_at``, None: never)."""

    name: str
    image: str
    crash_loops: bool
    """Whether this container's image exits 1 after ``Timing.crash_after`` (a ``fail_images`` match)."""
    restart: bool = True
    """False for ``restartPolicy: Never``."""
    completes: bool = False
    """Whether a healthy run ends: a Job's container exits 0 (``Completed``) once it turned Ready."""
    step: Step = "creating"
    state: Obj = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: Obj = field(default_factory=dict)
    restart_count: int = 0
    ready: bool = False
    started: bool = False
    ever_started: bool = False
    pulled: bool = False
    pull_failures: int = 0
    exits: int = 0
    exit_code: int = 1
    """The exit code of the container's last run (0 once a completing container ended)."""
    started_at: str = ""
    next_at: float | None = None
    ready_at: float | None = None
    crash_at: float | None = None
    pull_failed_at: float = 0.0

    def begin(self, now: float, timing: Timing) -> None:
        """The pod was scheduled: the image is being pulled."""
        self.next_at = now + timing.pull

    def advance(
        self, now: float, stamp: str, timing: Timing, unpullable: Callable[[str], bool], pod_ref: str
    ) -> None:
        """Take the transition that is due at ``now`` (``stamp``: the same moment as an RFC 3339 time)."""
        if self.step in ("creating", "pull-backoff"):
            self._pull(now, stamp, timing, unpullable)
        elif self.step == "pull-failed":
            self.step = "pull-backoff"
            message = f'Back-off pulling image "{self.image}"'
            self.state = {"waiting": {"reason": "ImagePullBackOff", "message": message}}
            self.next_at = self.pull_failed_at + timing.back_off(self.pull_failures)
        elif self.step == "running":
            self._tick_running(now, stamp, timing, pod_ref)
        elif self.step in ("crashed", "backoff"):
            self._start(now, stamp, timing, restarted=True)

    def _pull(self, now: float, stamp: str, timing: Timing, unpullable: Callable[[str], bool]) -> None:
        if unpullable(self.image):
            self.pull_failures += 1
            self.pull_failed_at = now
            self.step = "pull-failed"
            self.state = {"waiting": {"reason": "ErrImagePull", "message": pull_error(self.image)}}
            self.next_at = now + min(timing.kubelet(SYNC_SECONDS), timing.back_off(self.pull_failures))
            return
        self.pulled = True
        self._start(now, stamp, timing, restarted=False)

    def _start(self, now: float, stamp: str, timing: Timing, restarted: bool) -> None:
        if restarted:
            self.restart_count += 1
            if "terminated" in self.state:
                self.last_state = self.state
        self.step = "running"
        self.started = self.ever_started = True
        self.ready = False
        self.started_at = stamp
        self.state = {"running": {"startedAt": stamp}}
        self.ready_at = now + timing.ready
        crash_at = now + timing.crash_after if self.crash_loops else None
        if crash_at is not None and crash_at <= self.ready_at:
            self.ready_at = None
        self.next_at = min(t for t in (self.ready_at, crash_at) if t is not None)
        self.crash_at = crash_at

    def _tick_running(self, now: float, stamp: str, timing: Timing, pod_ref: str) -> None:
        if self.ready and self.completes and self.crash_at is None:
            self._complete(stamp)
            return
        if self.ready_at is not None and now >= self.ready_at:
            self.ready = True
            self.ready_at = None
            if self.completes and self.crash_at is None:  # Ready shown once, then the run ends at once
                self.next_at = now
                return
        if self.crash_at is not None and now >= self.crash_at:
            self._exit(now, stamp, timing, pod_ref)
            return
        pending = [t for t in (self.ready_at, self.crash_at) if t is not None]
        self.next_at = min(pending) if pending else None
        if not pending:
            self.step = "stable"

    def _complete(self, stamp: str) -> None:
        """The container's command ended well: terminated with exit code 0, never restarted."""
        self.ready = self.started = False
        self.step, self.next_at = "exited", None
        self.exit_code = 0
        self.state = {
            "terminated": {
                "exitCode": 0,
                "reason": "Completed",
                "startedAt": self.started_at,
                "finishedAt": stamp,
            }
        }

    def _exit(self, now: float, stamp: str, timing: Timing, pod_ref: str) -> None:
        self.exits += 1
        self.ready = self.started = False
        self.crash_at = self.ready_at = None
        terminated = {
            "terminated": {
                "exitCode": 1,
                "reason": "Error",
                "startedAt": self.started_at,
                "finishedAt": stamp,
            }
        }
        if not self.restart:
            self.step, self.state, self.next_at = "exited", terminated, None
        elif self.exits == 1:  # no back-off yet: shown terminated until the kubelet's next sync restarts it
            self.step, self.state = "crashed", terminated
            self.next_at = now + timing.kubelet(SYNC_SECONDS)
        else:
            seconds = back_off(self.exits - 1)
            message = f"back-off {int(seconds)}s restarting failed container={self.name} pod={pod_ref}"
            self.step, self.last_state = "backoff", terminated
            self.state = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
            self.next_at = now + timing.back_off(self.exits - 1)


def split_image(image: str) -> tuple[str, str]:
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
    name, suffix = split_image(image)
    first, _, rest = name.partition("/")
    if not rest or not ("." in first or ":" in first or first == "localhost"):
        name = f"docker.io/{name}" if rest else f"docker.io/library/{name}"
    return f"{name}{suffix or ':latest'}"


def pull_error(image: str) -> str:
    """containerd's answer for an image that does not exist, as the kubelet reports it."""
    ref = normalized_image(image)
    return (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
        f'failed to resolve reference "{ref}": {ref}: not found'
    )


def pod_phase(containers: list[Container]) -> str:
    """``getPhase``: Pending while a container never started; once every container exited for good, Succeeded
    when all exited 0, else Failed."""
    if any(not c.ever_started for c in containers):
        return "Pending"
    if all(c.step == "exited" for c in containers):
        return "Succeeded" if all(c.exit_code == 0 for c in containers) else "Failed"
    return "Running"
