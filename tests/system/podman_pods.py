"""The operator's pods, run for real with podman on the controlplane cluster, whose kwok nodes run no containers.

kwok shows the operator Deployment's pods Running and Ready; :class:`PodmanPods` makes each of them a real process:
for every live pod of the operator a container of the image, as the pod would run it (the pod's args and
``POD_NAME``, read-only root, every capability dropped, no new privileges, the image's non-root user, a tmpfs
``/tmp``) on the host network, authenticated with a token of the pod's ServiceAccount from the TokenRequest API and
nothing else. A pod deleted or replaced takes its container with it, as a kubelet would; ports are remapped to free
ones on 127.0.0.1 (host network: two replicas would share them).
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.system.harness import run_kubectl

PODMAN = ("podman", "--runtime", "runc")
LIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
PREFIX = "deployreq-e2e-"


def podman_problem() -> str | None:
    """Why the image cannot be run here, or None."""
    try:
        result = subprocess.run([*PODMAN, "info"], capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        return "podman is not installed: apt-get install -y podman buildah debootstrap runc"
    if result.returncode != 0:
        return f"podman cannot run containers here ({result.stderr.strip()[-200:]}): `make image` shows how"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pod_args(args: list[str]) -> list[str]:
    """The pod's args with its ports moved to free ones on 127.0.0.1."""
    moved: list[str] = []
    for arg in args:
        name = arg.partition("=")[0]
        if name in ("--metrics-port", "--health-port"):
            moved.append(f"{name}={free_port()}")
        elif name == "--metrics-host":
            moved.append(f"{name}=127.0.0.1")
        else:
            moved.append(arg)
    return moved


class PodmanPods:
    """Keeps one container per live operator pod of ``namespace`` (label ``selector``) until :meth:`stop`."""

    def __init__(self, kubeconfig: Path, workdir: Path, namespace: str, selector: str, image: str) -> None:
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.namespace = namespace
        self.selector = selector
        self.image = image
        self.running: dict[str, str] = {}  # pod name -> container name
        self.health_ports: dict[str, int] = {}  # pod name -> the port its /healthz moved to
        self.errors: list[str] = []
        self.steps: list[str] = []  # what the loop did and how long each podman or kubectl call took
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        for container in list(self.running.values()):
            self._remove(container)
        self.running.clear()

    def log(self, pod: str) -> str:
        container = self.running.get(pod)
        if container is None:
            return ""
        result = subprocess.run([*PODMAN, "logs", container], capture_output=True, text=True, check=False)
        return result.stdout + result.stderr

    def probe(self, pod: str) -> str:
        """What the pod's /healthz answers, as the kubelet's readiness probe gets it ("" while nothing answers).
        kwok shows a pod Ready at once; the process in its container is ready only when this answers 200."""
        port = self.health_ports.get(pod)
        if port is None:
            return ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                return f"{response.status} {response.read().decode()}"
        except OSError:
            return ""

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._sync()
            except (
                Exception
            ) as exc:  # the loop must outlive any one failure, or pods would silently lose containers
                self.errors.append(repr(exc))
            self._stop.wait(0.5)

    def _pods(self) -> list[dict[str, Any]]:
        result = run_kubectl(
            self.kubeconfig, "-n", self.namespace, "get", "pods", "-l", self.selector, "-o", "json"
        )
        if result.returncode != 0:
            raise ValueError(result.stderr)
        items: list[dict[str, Any]] = json.loads(result.stdout)["items"]
        return [p for p in items if not p["metadata"].get("deletionTimestamp")]

    def _sync(self) -> None:
        pods = {p["metadata"]["name"]: p for p in self._pods()}
        for name in [n for n in self.running if n not in pods]:
            self._remove(self.running[name])  # listed as running until its process is gone
            del self.running[name]
            self.health_ports.pop(name, None)
        for name, pod in pods.items():
            if name not in self.running:
                self.running[name] = self._run(pod)

    def _kubeconfig_for(self, pod: dict[str, Any]) -> Path:
        """A kubeconfig with the API server, its CA and a TokenRequest token of the pod's ServiceAccount only."""
        account = pod["spec"].get("serviceAccountName") or "default"
        token = run_kubectl(
            self.kubeconfig, "-n", self.namespace, "create", "token", account, "--duration=1h"
        ).stdout.strip()
        view = json.loads(
            run_kubectl(self.kubeconfig, "config", "view", "--raw", "--minify", "-o", "json").stdout
        )
        cluster = view["clusters"][0]["cluster"]
        folder = self.workdir / f"pod-{pod['metadata']['name']}"
        folder.mkdir(exist_ok=True)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "c",
                    "cluster": {
                        "server": cluster["server"],
                        "certificate-authority-data": cluster["certificate-authority-data"],
                    },
                }
            ],
            "users": [{"name": account, "user": {"token": token}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": account}}],
            "current-context": "c",
        }
        (folder / "kubeconfig").write_text(json.dumps(config))
        (folder / "kubeconfig").chmod(0o644)
        return folder

    def _run(self, pod: dict[str, Any]) -> str:
        name = str(pod["metadata"]["name"])
        (container,) = pod["spec"]["containers"]
        folder = self._kubeconfig_for(pod)
        container_name = PREFIX + name
        args = pod_args(list(container.get("args") or []))
        for arg in args:
            if arg.startswith("--health-port="):
                self.health_ports[name] = int(arg.partition("=")[2])
        self._podman("rm", "-f", container_name, timeout=60)
        command = [
            *PODMAN, "run", "-d", "--name", container_name, "--network", "host", *LIMITS,
            "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--tmpfs", "/tmp",
            "-v", f"{folder}:/config:ro", "-e", "KUBECONFIG=/config/kubeconfig", "-e", f"POD_NAME={name}",
            self.image, *args,
        ]  # fmt: skip
        result = self._podman(*command[len(PODMAN) :], timeout=120)
        if result.returncode != 0:
            raise ValueError(f"podman run for pod {name}: {result.stderr.strip()}")
        return container_name

    def _remove(self, container: str) -> None:
        self._podman("rm", "-f", "-t", "0", container, timeout=60)

    def _podman(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        """One podman call (stdin closed, so nothing it starts can hold our pipes open), recorded with its time."""
        started = time.monotonic()
        self.steps.append(f"{time.strftime('%H:%M:%S')} podman {' '.join(args[:5])} ...")
        result = subprocess.run(
            [*PODMAN, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        self.steps[-1] = self.steps[-1].replace(
            "...", f"{time.monotonic() - started:.1f}s rc={result.returncode}"
        )
        return result
