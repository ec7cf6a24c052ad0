"""``make e2e-argocd``: Argo CD syncing DeploymentRequests from git on the real control plane, with the operator.

Starts a control plane of its own (``CLUSTER_DIR``, default ``.cluster-argocd``, so it never touches the cluster of
``make cluster-up``) unless it already runs, installs Debian's ``redis-server`` when it is missing, and runs
``tests/argocd`` with the binaries of ``make argocd`` on PATH. The tests start Redis, Argo CD's repo server and
application controller and the operator themselves (``tests/argocd/stack.py``). The cluster is stopped again if
this script started it, also on failure. Arguments are passed on to pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("CLUSTER_DIR", str(ROOT / ".cluster-argocd"))

import cluster  # noqa: E402  (reads CLUSTER_DIR when imported)
import cluster_build  # noqa: E402


def ensure_redis() -> str:
    """The path of ``redis-server``; Debian's package is installed when it is missing (the tests need it)."""
    found = shutil.which("redis-server")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit("e2e-argocd needs redis-server: apt-get install redis-server (as root)")
    print("e2e-argocd: installing Debian's redis-server (apt-get update, apt-get install -y redis-server)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "redis-server"],
    ):
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}")
    found = shutil.which("redis-server")
    if not found:
        raise SystemExit("Debian's redis-server package installed, but redis-server is not on PATH")
    return found


def main(pytest_args: list[str]) -> int:
    ensure_redis()
    argocd_bins = cluster_build.build("argocd")
    pinned = cluster_build.versions()
    source = cluster_build.download("github.com/argoproj/argo-cd/v3", pinned["ARGOCD_VERSION"])["Dir"]
    started = not cluster.running()
    if started:
        os.environ.setdefault("CLUSTER_TIME_SCALE", "0.1")  # crash-loop back-offs of 1 s, 2 s, 4 s, ...
        if cluster.up() != 0:
            return 1
    controlplane_bins = cluster_build.bin_dir()
    env = {
        **os.environ,
        "DEPLOYREQ_CLUSTER": "controlplane",
        "KUBECONFIG": str(cluster.KUBECONFIG),
        # kubectl 1.36 as the server; argocd and kustomize (the repo server runs `kustomize build`)
        "PATH": os.pathsep.join((str(controlplane_bins), str(argocd_bins), os.environ.get("PATH", ""))),
        "DEPLOYREQ_ARGOCD_BIN": str(argocd_bins / "argocd"),
        "DEPLOYREQ_ARGOCD_SOURCE": source,  # its manifests/crds
        "DEPLOYREQ_ARGOCD_VERSION": pinned["ARGOCD_VERSION"],
    }
    # Its own base temporary directory: the processes' logs stay there after the run (other pytest runs on the
    # machine prune the shared one).
    basetemp = f"--basetemp={cluster.STATE / 'pytest'}"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-rs",
        "-p",
        "no:cacheprovider",
        basetemp,
        "tests/argocd",
    ]
    print("+ " + " ".join(command[1:] + pytest_args), flush=True)
    try:
        return subprocess.run([*command, *pytest_args], cwd=ROOT, env=env, check=False).returncode
    finally:
        if started:
            cluster.down()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
