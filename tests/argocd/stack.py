"""Argo CD as its developers run it locally (its Procfile), on the real control plane: Redis, the repo server and the
application controller as processes of their own, bound to 127.0.0.1, each with a bounded lifetime.

``make e2e-argocd`` (scripts/argocd_e2e.py) puts the binaries of ``make argocd`` and the control plane's kubectl on
PATH and names the Argo CD binary (``DEPLOYREQ_ARGOCD_BIN``) and its module's source (``DEPLOYREQ_ARGOCD_SOURCE``,
whose ``manifests/crds`` are installed).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support import run_kubectl

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "argocd"
# Every process started here ends by itself after this long (`timeout`), should the test run be killed.
LIFETIME = os.environ.get("DEPLOYREQ_ARGOCD_LIFETIME", "45m")
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_port(port: int, process: subprocess.Popen[bytes], name: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail(log)}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(
        f"{name} did not listen on 127.0.0.1:{port} within {START_TIMEOUT:.0f} s:\n{tail(log)}"
    )


def tail(path: Path, lines: int = 30) -> str:
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def kubectl(kubeconfig: Path, *args: str, input: str | None = None) -> str:
    result = run_kubectl(kubeconfig, *args, input=input)
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def wait_established(kubeconfig: Path, crd: str) -> None:
    """Until the CRD is Established (``kubectl wait`` errs on a CRD whose status has no conditions yet)."""

    def established() -> bool:
        status = json.loads(kubectl(kubeconfig, "get", f"crd/{crd}", "-o", "json")).get("status") or {}
        return any(
            c.get("type") == "Established" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )

    deadline = time.monotonic() + START_TIMEOUT
    while not established():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the CRD {crd} was not Established within {START_TIMEOUT:.0f} s")
        time.sleep(0.2)


def configuration() -> list[dict[str, Any]]:
    """The Argo CD objects the controller reads: its namespace, argocd-cm as ``manifests/argocd`` renders it (our
    health Lua), an empty argocd-secret and the default AppProject (argocd-server would create those two)."""
    rendered = subprocess.run(
        ["kustomize", "build", str(ROOT / "manifests" / "argocd")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    part_of = {"app.kubernetes.io/part-of": "argocd"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        *yaml.safe_load_all(rendered),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "argocd-secret", "namespace": NAMESPACE, "labels": part_of},
            "type": "Opaque",
        },
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "default", "namespace": NAMESPACE},
            "spec": {
                "sourceRepos": ["*"],
                "destinations": [{"server": "*", "namespace": "*"}],
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            },
        },
    ]


@dataclass
class ArgoCD:
    """Redis, the repo server and the application controller, started and stopped together."""

    binary: Path
    source: Path
    kubeconfig: Path
    workdir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with self.log(name).open("ab") as log:
            process = subprocess.Popen(
                ["timeout", "--kill-after=10s", LIFETIME, *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
            )
        self.processes[name] = process
        return process

    def install(self) -> None:
        """Argo CD's CRDs from its module (server-side: the Application CRD is over the client-side limit), then
        its configuration."""
        kubectl(self.kubeconfig, "apply", "--server-side", "-k", str(self.source / "manifests" / "crds"))
        for crd in ("applications.argoproj.io", "appprojects.argoproj.io"):
            wait_established(self.kubeconfig, crd)
        documents = yaml.safe_dump_all(configuration())
        kubectl(self.kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", "-", input=documents)

    def start(self) -> None:
        self.install()
        base = {
            **os.environ,
            "ARGOCD_FAKE_IN_CLUSTER": "true",  # https://kubernetes.default.svc is the cluster of KUBECONFIG
            "KUBECONFIG": str(self.kubeconfig),
            "ARGOCD_GPG_ENABLED": "false",
        }
        for sub in ("tls", "ssh", "gpg/keys", "gpg/source", "cmp", "tmp"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        redis_port, repo_port = free_port(), free_port()
        redis = self.spawn(
            "redis",
            [
                shutil.which("redis-server") or "redis-server",
                "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "", "--appendonly", "no",
                "--protected-mode", "yes", "--dir", str(self.workdir),
            ],
            base,
        )  # fmt: skip
        wait_port(redis_port, redis, "redis-server", self.log("redis"))
        repo = self.spawn(
            "repo-server",
            [
                str(self.binary),
                "--address", "127.0.0.1", "--port", str(repo_port),
                "--metrics-address", "127.0.0.1", "--metrics-port", str(free_port()),
                "--redis", f"127.0.0.1:{redis_port}", "--disable-tls", "--logformat", "text",
            ],
            {
                **base,
                "ARGOCD_BINARY_NAME": "argocd-repo-server",
                "ARGOCD_TLS_DATA_PATH": str(self.workdir / "tls"),
                "ARGOCD_SSH_DATA_PATH": str(self.workdir / "ssh"),
                "ARGOCD_GNUPGHOME": str(self.workdir / "gpg" / "keys"),
                "ARGOCD_GPG_DATA_PATH": str(self.workdir / "gpg" / "source"),
                "ARGOCD_PLUGINSOCKFILEPATH": str(self.workdir / "cmp"),
                "TMPDIR": str(self.workdir / "tmp"),
            },
        )  # fmt: skip
        wait_port(repo_port, repo, "argocd-repo-server", self.log("repo-server"))
        # Its metrics listener binds 0.0.0.0 (hard-coded in v3.2): a free port, for the test's lifetime only.
        self.spawn(
            "application-controller",
            [
                str(self.binary),
                "--namespace", NAMESPACE,
                "--redis", f"127.0.0.1:{redis_port}",
                "--repo-server", f"127.0.0.1:{repo_port}", "--repo-server-plaintext",
                "--metrics-port", str(free_port()),
                "--persist-resource-health",  # per-resource health in the Application (off by default since v3)
                "--status-processors", "4", "--operation-processors", "2",
                "--logformat", "text",
            ],
            {
                **base,
                "ARGOCD_BINARY_NAME": "argocd-application-controller",
                "HOSTNAME": "argocd-application-controller-0",
                "ARGOCD_TLS_DATA_PATH": str(self.workdir / "tls"),
                "ARGOCD_SSH_DATA_PATH": str(self.workdir / "ssh"),
            },
        )  # fmt: skip

    def alive(self) -> list[str]:
        return [name for name, process in self.processes.items() if process.poll() is None]

    def stop(self) -> None:
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
