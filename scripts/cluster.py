"""``make cluster-up`` / ``make cluster-down``: a real Kubernetes control plane on this machine, on 127.0.0.1 only.

Up starts, each as a process of its own, from the binaries ``scripts/cluster_build.py`` built:

- ``etcd`` (plain HTTP on loopback, data in ``.cluster/etcd``);
- ``kube-apiserver``: TLS with certificates made at start (openssl), client certificates and ServiceAccount
  tokens (incl. TokenRequest) for authentication, ``--authorization-mode=Node,RBAC``, the audit policy
  ``controlplane/audit-policy.yaml`` writing ``.cluster/audit.log``;
- ``kube-controller-manager`` (each controller with its own ServiceAccount's credentials, as kubeadm sets it up) and
  ``kube-scheduler``, each with its own client certificate (``system:kube-controller-manager``,
  ``system:kube-scheduler``), so the real bootstrap RBAC decides what they may do;
- ``kwok`` with three fake nodes, the pods' lifecycle given by kwok's default stages and ``controlplane/stages``
  (``CLUSTER_POD_READY_SECONDS``, ``CLUSTER_TIME_SCALE``; see ``controlplane/stages/README.md``).

It waits until each answers (etcd's /health, the API server's /readyz, the controller manager's and the scheduler's
/healthz, the nodes Ready and untainted, the ``default`` ServiceAccount made), writes ``.cluster/kubeconfig`` (admin,
``system:masters``) and ``.cluster/env`` (``KUBECONFIG`` and a ``PATH`` with the built ``kubectl`` first), and prints
``cluster ready: KUBECONFIG=.cluster/kubeconfig (Kubernetes vX.Y.Z)``. Each process's pid is in ``.cluster/pids``,
its output in ``.cluster/logs``. Down stops every process up started, and only those.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cluster_build
import yaml

ROOT = cluster_build.ROOT
STATE = Path(os.environ.get("CLUSTER_DIR", ROOT / ".cluster")).resolve()
PIDS = STATE / "pids"
LOGS = STATE / "logs"
PKI = STATE / "pki"
KUBECONFIG = STATE / "kubeconfig"
ENV_FILE = STATE / "env"
ORDER = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
NODES = tuple(f"kwok-node-{i}" for i in range(3))
FAKE_NODE = ("kwok.x-k8s.io/node", "fake")
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
START_TIMEOUT = float(os.environ.get("CLUSTER_START_TIMEOUT", "120"))
# kwok's default stages, taken from the kwok module at the pinned version (not copied into this repository). Its
# pod-complete is replaced by controlplane/stages/pod-job-complete.yaml (a terminal pod as a kubelet writes it).
KWOK_DEFAULT_STAGES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)
SIMULATED_IMAGES_JQ = '[.spec.containers[].image | test("crashloop|nopull")] | any'


class ClusterError(Exception):
    """The cluster could not be started; the message says which part and why."""


def display(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


# --- processes -----------------------------------------------------------------------------------------------


def pid_of(name: str) -> int | None:
    """The pid of component ``name`` when the process up started is still running."""
    pid_file = PIDS / f"{name}.pid"
    if not pid_file.is_file():
        return None
    pid_text, _, binary = pid_file.read_text().partition("\n")
    try:
        pid = int(pid_text)
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except (ValueError, OSError):
        return None
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    return pid if cmdline == binary.strip() and state != "Z" else None


def running() -> list[str]:
    return [name for name in ORDER if pid_of(name) is not None]


def start(name: str, binary: Path, args: list[str]) -> subprocess.Popen[bytes]:
    LOGS.mkdir(parents=True, exist_ok=True)
    PIDS.mkdir(parents=True, exist_ok=True)
    with (LOGS / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            [str(binary), *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=STATE,
            start_new_session=True,  # survives this script; stopped by `cluster.py down` from its pid file
        )
    (PIDS / f"{name}.pid").write_text(f"{process.pid}\n{binary}\n")
    (PIDS / f"{name}.args").write_text(json.dumps([str(binary), *args]))  # for restart(): the same flags
    return process


def restart(name: str, timeout: float = 60.0) -> float:
    """SIGKILL component ``name`` and start it again with the same flags (a crash and a supervisor's restart);
    for the API server, wait until ``/readyz`` answers. Returns the seconds from the kill to ready."""
    pid = pid_of(name)
    if pid is None:
        raise ClusterError(f"{name} is not running")
    binary, *args = json.loads((PIDS / f"{name}.args").read_text())
    began = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    deadline = began + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z":
                break
        except OSError:
            break
        time.sleep(0.05)
    ports = [int(a.split("=", 1)[1]) for a in args if a.startswith("--secure-port=")]
    # A killed Go process's threads may hold its listener a moment after its leader became a zombie.
    for port in ports:
        while not port_free(port) and time.monotonic() < deadline:
            time.sleep(0.05)
    process = start(name, Path(binary), args)
    if name == "kube-apiserver":
        api = Api(f"https://127.0.0.1:{ports[0]}")
        wait_until("kube-apiserver /readyz", lambda: api.request("GET", "/readyz") == "ok", process, name)
    return time.monotonic() - began


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pause(name: str, seconds: float) -> None:
    """SIGSTOP component ``name`` for ``seconds`` (bounded: at most 60), then SIGCONT, also when interrupted."""
    pid = pid_of(name)
    if pid is None:
        raise ClusterError(f"{name} is not running")
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(min(max(seconds, 0.0), 60.0))
    finally:
        os.kill(pid, signal.SIGCONT)


def stop(name: str, timeout: float = 20.0) -> bool:
    pid = pid_of(name)
    (PIDS / f"{name}.pid").unlink(missing_ok=True)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z":
            break
        time.sleep(0.1)
    else:
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, signal.SIGKILL)
    return True


def log_tail(name: str, lines: int = 25) -> str:
    path = LOGS / f"{name}.log"
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(
    what: str, check: Callable[[], bool], process: subprocess.Popen[bytes] | None, name: str
) -> None:
    """Poll ``check`` until it holds; fail at once when ``process`` exits, or after START_TIMEOUT."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process is not None and process.poll() is not None:
            raise ClusterError(f"{name} exited with {process.returncode}:\n{log_tail(name)}")
        try:
            if check():
                return
        except (OSError, urllib.error.URLError, ValueError, KeyError):
            pass
        if time.monotonic() > deadline:
            raise ClusterError(f"{what}: not within {START_TIMEOUT:.0f} s\n{log_tail(name)}")
        time.sleep(0.2)


# --- certificates and kubeconfigs ----------------------------------------------------------------------------


def openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args[:2])} failed: {result.stderr.strip()}")


def make_pki() -> None:
    """One CA; a serving certificate for 127.0.0.1; client certificates; the ServiceAccount signing key."""
    PKI.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    ca_key, ca_crt = str(PKI / "ca.key"), str(PKI / "ca.crt")
    openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        ca_key,
        "-out",
        ca_crt,
        "-days",
        "3650",
        "-subj",
        "/CN=deployreq-cluster-ca",
    )
    sans = "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    leaves = {
        "serving": ("/CN=127.0.0.1", ["-addext", sans, "-addext", "extendedKeyUsage=serverAuth"]),
        "admin": ("/O=system:masters/CN=kubernetes-admin", ["-addext", "extendedKeyUsage=clientAuth"]),
        "kube-controller-manager": (
            "/CN=system:kube-controller-manager",
            ["-addext", "extendedKeyUsage=clientAuth"],
        ),
        "kube-scheduler": ("/CN=system:kube-scheduler", ["-addext", "extendedKeyUsage=clientAuth"]),
        "kwok": ("/O=system:masters/CN=kwok-controller", ["-addext", "extendedKeyUsage=clientAuth"]),
    }
    for name, (subject, extensions) in leaves.items():
        key, crt = str(PKI / f"{name}.key"), str(PKI / f"{name}.crt")
        openssl(
            "req", "-x509", *ec, "-keyout", key, "-out", crt, "-days", "365", "-subj", subject,
            "-CA", ca_crt, "-CAkey", ca_key, "-addext", "basicConstraints=critical,CA:FALSE", *extensions,
        )  # fmt: skip
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(PKI / "sa.key"))
    openssl("pkey", "-in", str(PKI / "sa.key"), "-pubout", "-out", str(PKI / "sa.pub"))


def write_kubeconfig(path: Path, user: str, server: str) -> None:
    def data(name: str) -> str:
        return base64.b64encode((PKI / name).read_bytes()).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "deployreq", "cluster": {"server": server, "certificate-authority-data": data("ca.crt")}}
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": data(f"{user}.crt"),
                    "client-key-data": data(f"{user}.key"),
                },
            }
        ],
        "contexts": [
            {"name": "deployreq", "context": {"cluster": "deployreq", "user": user, "namespace": "default"}}
        ],
        "current-context": "deployreq",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


@dataclass
class Api:
    """Just enough of an HTTPS client to wait on the API server as the admin."""

    server: str

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(PKI / "ca.crt"))
        context.load_cert_chain(str(PKI / "admin.crt"), str(PKI / "admin.key"))
        return context

    def request(self, method: str, path: str, body: Any = None, base: str | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            (base or self.server) + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, context=self.context(), timeout=10) as response:
            text = response.read().decode()
        return json.loads(text) if text.startswith(("{", "[")) else text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- kwok stages and nodes -----------------------------------------------------------------------------------


def stages_config(pod_ready_seconds: float, time_scale: float) -> str:
    """kwok's default stages (from its module) with pod-ready narrowed and delayed, then ours, as one document."""
    pinned = cluster_build.versions()
    kwok_dir = Path(cluster_build.download("sigs.k8s.io/kwok", pinned["KWOK_VERSION"])["Dir"])
    documents: list[dict[str, Any]] = []
    for relative in KWOK_DEFAULT_STAGES:
        stage = yaml.safe_load((kwok_dir / relative).read_text())
        if stage["metadata"]["name"] == "pod-ready":
            stage["spec"]["selector"]["matchExpressions"].append(
                {"key": SIMULATED_IMAGES_JQ, "operator": "In", "values": ["false"]}
            )
            stage["spec"]["delay"] = {"durationMilliseconds": round(pod_ready_seconds * 1000)}
        documents.append(stage)
    replacements = {
        "${CLUSTER_TIME_SCALE}": repr(time_scale),
        "${CLUSTER_POD_READY_MS}": str(round(pod_ready_seconds * 1000)),
    }
    for path in sorted((ROOT / "controlplane" / "stages").glob("*.yaml")):
        text = path.read_text()
        for token, value in replacements.items():
            text = text.replace(token, value)
        documents.append(yaml.safe_load(text))
    return yaml.safe_dump_all(documents, sort_keys=False)


def node(name: str) -> dict[str, Any]:
    resources = {"cpu": "32", "memory": "256Gi", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {FAKE_NODE[0]: FAKE_NODE[1], "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/os": "linux",
                "kubernetes.io/hostname": name,
                "kubernetes.io/role": "agent",
                "node-role.kubernetes.io/agent": "",
                "type": "kwok",
            },
        },
        "status": {
            "allocatable": resources,
            "capacity": resources,
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": "fake"},
            "phase": "Running",
        },
    }


def nodes_ready(api: Api) -> bool:
    items = api.request("GET", "/api/v1/nodes")["items"]
    ready = [
        n
        for n in items
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in n.get("status", {}).get("conditions") or []
        )
        and not any(t.get("effect") == "NoSchedule" for t in n.get("spec", {}).get("taints") or [])
    ]
    return len(ready) == len(NODES)


# --- up and down ---------------------------------------------------------------------------------------------


def up() -> int:
    alive = running()
    if alive:
        print(
            f"cluster already running ({', '.join(alive)}): KUBECONFIG={display(KUBECONFIG)}; `make cluster-down` stops it"
        )
        return 0
    began = time.monotonic()
    bins = cluster_build.build()
    for name in ORDER:  # leftovers of a cluster whose processes died: nothing of it runs, start afresh
        (PIDS / f"{name}.pid").unlink(missing_ok=True)
    for leftover in ("etcd", "pki", "logs", "stages.yaml", "audit.log", "kubecache"):
        target = STATE / leftover
        shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    STATE.mkdir(parents=True, exist_ok=True)
    try:
        version = start_all(bins)
    except (ClusterError, KeyboardInterrupt) as problem:
        for name in reversed(ORDER):
            stop(name)
        print(f"cluster-up failed: {problem}", file=sys.stderr)
        return 1
    ENV_FILE.write_text(f'export KUBECONFIG="{KUBECONFIG}"\nexport PATH="{bins}:$PATH"\n')
    print(f"cluster ready in {time.monotonic() - began:.0f} s: {', '.join(ORDER)} (logs in {display(LOGS)})")
    print(f"cluster ready: KUBECONFIG={display(KUBECONFIG)} (Kubernetes {version})")
    return 0


def start_all(bins: Path) -> str:
    make_pki()
    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    server = f"https://127.0.0.1:{api_port}"
    for user in ("admin", "kube-controller-manager", "kube-scheduler", "kwok"):
        write_kubeconfig(STATE / f"{user}.kubeconfig", user, server)
    shutil.copy(STATE / "admin.kubeconfig", KUBECONFIG)
    api = Api(server)
    serving = [f"--tls-cert-file={PKI / 'serving.crt'}", f"--tls-private-key-file={PKI / 'serving.key'}"]

    etcd = start(
        "etcd",
        bins / "etcd",
        [
            "--name=node0",
            f"--data-dir={STATE / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
            f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
            f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-cluster=node0=http://127.0.0.1:{peer_port}",
            "--unsafe-no-fsync=true",  # a throw-away test store on a shared disk
            "--log-level=warn",
        ],
    )

    def etcd_healthy() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{etcd_port}/health", timeout=5) as response:
            return bool(json.loads(response.read()).get("health") == "true")

    wait_until("etcd /health", etcd_healthy, etcd, "etcd")

    apiserver = start(
        "kube-apiserver",
        bins / "kube-apiserver",
        [
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={api_port}",
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            *serving,
            f"--client-ca-file={PKI / 'ca.crt'}",
            "--authorization-mode=Node,RBAC",
            f"--service-account-key-file={PKI / 'sa.pub'}",
            f"--service-account-signing-key-file={PKI / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--endpoint-reconciler-type=none",  # 127.0.0.1 cannot be an Endpoints address
            f"--audit-policy-file={ROOT / 'controlplane' / 'audit-policy.yaml'}",
            f"--audit-log-path={STATE / 'audit.log'}",
            "--audit-log-maxsize=500",
            f"--cert-dir={PKI / 'kube-apiserver'}",
            "--allow-privileged=true",
        ],
    )
    wait_until(
        "kube-apiserver /readyz", lambda: api.request("GET", "/readyz") == "ok", apiserver, "kube-apiserver"
    )

    health_ports = {"kube-controller-manager": free_port(), "kube-scheduler": free_port()}
    processes = {}
    for name, extra in (
        (
            "kube-controller-manager",
            [
                "--use-service-account-credentials=true",
                f"--root-ca-file={PKI / 'ca.crt'}",
                f"--service-account-private-key-file={PKI / 'sa.key'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--cluster-signing-cert-file={PKI / 'ca.crt'}",
                f"--cluster-signing-key-file={PKI / 'ca.key'}",
            ],
        ),
        ("kube-scheduler", []),
    ):
        kubeconfig = STATE / f"{name}.kubeconfig"
        processes[name] = start(
            name,
            bins / name,
            [
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={health_ports[name]}",
                *serving,
                "--leader-elect=false",
                *extra,
            ],
        )
    for name, port in health_ports.items():
        wait_until(
            f"{name} /healthz",
            lambda port=port: api.request("GET", "/healthz", base=f"https://127.0.0.1:{port}") == "ok",  # type: ignore[misc]
            processes[name],
            name,
        )

    for name in NODES:
        api.request("POST", "/api/v1/nodes", node(name))
    (STATE / "stages.yaml").write_text(
        stages_config(
            float(os.environ.get("CLUSTER_POD_READY_SECONDS", "1")),
            float(os.environ.get("CLUSTER_TIME_SCALE", "1")),
        )
    )
    kwok_port = free_port()
    kwok = start(
        "kwok",
        bins / "kwok",
        [
            f"--kubeconfig={STATE / 'kwok.kubeconfig'}",
            f"--config={STATE / 'stages.yaml'}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={FAKE_NODE[0]}={FAKE_NODE[1]}",
            f"--cidr={POD_CIDR}",
            "--node-ip=127.0.0.1",
            "--node-name=kwok-controller",
            f"--node-port={kwok_port}",
            f"--server-address=127.0.0.1:{kwok_port}",
            "--node-lease-duration-seconds=40",
            *serving,
        ],
    )
    wait_until("three kwok nodes Ready and untainted", lambda: nodes_ready(api), kwok, "kwok")
    wait_until(
        "the default ServiceAccount",
        lambda: bool(api.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")),
        processes["kube-controller-manager"],
        "kube-controller-manager",
    )
    return str(api.request("GET", "/version")["gitVersion"])


def down() -> int:
    stopped = [name for name in reversed(ORDER) if stop(name)]
    print(f"cluster down: stopped {', '.join(stopped)}" if stopped else "cluster down: nothing was running")
    return 0


def e2e(pytest_args: list[str]) -> int:
    """The system tests on this cluster: started unless it runs (and then stopped again, also on failure)."""
    started = not running()
    if started:
        os.environ.setdefault("CLUSTER_TIME_SCALE", "0.1")  # crash-loop back-offs of 1 s, 2 s, 4 s, ...
        if up() != 0:
            return 1
    bins = cluster_build.bin_dir()
    env = {
        **os.environ,
        "DEPLOYREQ_CLUSTER": "controlplane",
        "KUBECONFIG": str(KUBECONFIG),
        "PATH": f"{bins}{os.pathsep}{os.environ.get('PATH', '')}",  # kubectl 1.36, as the server
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-rs",
        "-p",
        "no:cacheprovider",
        "tests/system",
        *pytest_args,
    ]
    print("+ DEPLOYREQ_CLUSTER=controlplane " + " ".join(command[1:]), flush=True)
    try:
        code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    finally:
        if started:
            down()
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description="a real Kubernetes control plane on 127.0.0.1")
    parser.add_argument("action", choices=("up", "down", "status", "e2e", "restart", "pause"))
    parser.add_argument(
        "pytest_args",
        nargs="*",
        help="e2e: passed on to pytest (after --); restart COMPONENT; pause COMPONENT SECONDS",
    )
    arguments = parser.parse_args()
    action = arguments.action
    if action == "up":
        return up()
    if action == "down":
        return down()
    if action == "e2e":
        return e2e(arguments.pytest_args)
    if action == "restart":
        (name,) = arguments.pytest_args
        print(f"{name} killed and ready again in {restart(name):.1f} s", flush=True)
        return 0
    if action == "pause":
        name, seconds = arguments.pytest_args
        pause(name, float(seconds))
        return 0
    alive = running()
    print(f"running: {', '.join(alive)}" if alive else "not running")
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
