"""The real control plane (scripts/cluster.py) for `make bench` and `make chaos`, and a reader of its audit log.

``DEPLOYREQ_CLUSTER=controlplane`` makes the bench and chaos start their own cluster in a directory of their run
(``CLUSTER_DIR``, never the ``.cluster/`` someone else may use) and read the times and the accepted writes from the
kube-apiserver's audit log instead of kubesim's audit trail. :func:`record_of` turns one audit event (one JSON line,
``audit.k8s.io/v1`` ``Event``) into the record shape kubesim's trail has, so the same code reads both:

================  ==========================================================================
kubesim record     audit event
================  ==========================================================================
``time``           ``requestReceivedTimestamp`` (seconds since the epoch)
``duration_ms``    ``stageTimestamp - requestReceivedTimestamp``: the write took effect before
                   the response was complete, so ``time + duration_ms`` is when the answer left
``verb``           ``verb`` (create, update, patch, delete, get, list, watch, ...)
``resource`` ...   ``objectRef``: resource, subresource, namespace, name
``code``           ``responseStatus.code``
``userAgent``      ``userAgent``; ``user``: ``user.username``
``requestObject``  ``requestObject`` (logged at level Request by controlplane/audit-policy.yaml)
``revision``       ``responseObject.metadata.resourceVersion`` of an accepted write logged at
                   RequestResponse (Deployments, Leases): etcd's revision at the commit
================  ==========================================================================

One record per request: the ``ResponseComplete`` stage (or ``Panic``), except for watches, recorded at
``ResponseStarted`` (a watch completes only when it ends, or never when the server is killed).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLUSTER_SCRIPT = ROOT / "scripts" / "cluster.py"


def selected() -> str:
    """``DEPLOYREQ_CLUSTER`` for the bench and chaos: ``kubesim`` (default) or ``controlplane``."""
    name = os.environ.get("DEPLOYREQ_CLUSTER", "kubesim")
    if name not in ("kubesim", "controlplane"):
        raise SystemExit(f"DEPLOYREQ_CLUSTER must be kubesim or controlplane here, not {name!r}")
    return name


def timestamp(text: str) -> float:
    """An audit timestamp (RFC 3339 with microseconds, ``Z``) as seconds since the epoch."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def record_of(event: dict[str, Any]) -> dict[str, Any] | None:
    """The kubesim-shaped record of one audit event, or None for a stage that is not the request's record."""
    stage, verb = event.get("stage"), event.get("verb", "")
    wanted = "ResponseStarted" if verb == "watch" else "ResponseComplete"
    if stage not in (wanted, "Panic"):
        return None
    received = timestamp(event["requestReceivedTimestamp"])
    done = timestamp(event.get("stageTimestamp") or event["requestReceivedTimestamp"])
    ref = event.get("objectRef") or {}
    record: dict[str, Any] = {
        "time": received,
        "duration_ms": round((done - received) * 1000, 3),
        "verb": verb,
        "path": event.get("requestURI", ""),
        "resource": ref.get("resource", ""),
        "code": int((event.get("responseStatus") or {}).get("code") or (500 if stage == "Panic" else 0)),
        "userAgent": event.get("userAgent", ""),
        "user": (event.get("user") or {}).get("username", ""),
        "auditID": event.get("auditID", ""),
    }
    for key in ("namespace", "name", "subresource", "apiGroup"):
        if ref.get(key):
            record[key] = ref[key]
    if "requestObject" in event:
        record["requestObject"] = event["requestObject"]
    response = event.get("responseObject")
    response = response if isinstance(response, dict) else {}
    version = (response.get("metadata") or {}).get("resourceVersion")
    if record["code"] < 300 and str(version or "").isdigit() and response.get("kind") != "Status":
        record["revision"] = int(
            str(version)
        )  # etcd's revision at the commit: the order writes took effect in
    return record


class AuditLog:
    """The kube-apiserver's audit log read incrementally: each call reads what was appended since the last one (a
    line still being written is kept for the next call). Safe to call from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self._records: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def records(self, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            self._read()
            return self._records[since:]

    def _read(self) -> None:
        if self.path.exists():
            with self.path.open("rb") as f:
                f.seek(self._offset)
                chunk = f.read()
            self._offset += len(chunk)
            data = self._partial + chunk
            lines = data.split(b"\n")
            self._partial = lines.pop()
            for line in lines:
                if line.strip():
                    record = record_of(json.loads(line))
                    if record is not None:
                        self._records.append(record)


def wait_established(
    kubeconfig: Path, crd: str = "deploymentrequests.deployreq.dev", timeout: float = 60
) -> None:
    """Wait until the CRD is Established. `kubectl wait` fails at once while the new CRD has no conditions yet
    (``.status.conditions accessor error``), so it is retried, bounded by ``timeout``."""
    from tests.support import run_kubectl

    deadline = time.monotonic() + timeout
    while True:
        result = run_kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=10s", f"crd/{crd}")
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"crd/{crd} not Established within {timeout:.0f} s: {result.stderr}")
        time.sleep(0.5)


def read_audit_log(path: Path) -> list[dict[str, Any]]:
    """Every record of an audit log file."""
    return AuditLog(path).records()


class ControlPlane:
    """A cluster of scripts/cluster.py in ``directory`` (its ``CLUSTER_DIR``), started by :meth:`start` and always
    stopped by :meth:`stop`. Pods are kwok's stages: Ready ``pod_ready_seconds`` after they are scheduled, crash
    loops by image name, every delay times ``time_scale``."""

    def __init__(self, directory: Path, pod_ready_seconds: float = 1.0, time_scale: float = 1.0) -> None:
        self.directory = directory
        self.pod_ready_seconds = pod_ready_seconds
        self.time_scale = time_scale
        self.kubeconfig = directory / "kubeconfig"
        self.log = AuditLog(directory / "audit.log")
        self.env = {
            **os.environ,
            "CLUSTER_DIR": str(directory),
            "CLUSTER_POD_READY_SECONDS": repr(pod_ready_seconds),
            "CLUSTER_TIME_SCALE": repr(time_scale),
        }
        self.started = False

    def _cluster(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [sys.executable, str(CLUSTER_SCRIPT), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"cluster.py {' '.join(args)} failed: {result.stdout}{result.stderr}")
        return result.stdout

    def start(self) -> None:
        self.started = True
        self._cluster("up")

    def stop(self) -> None:
        if self.started:
            self._cluster("down", timeout=120)
            self.started = False

    def audit(self, since: int = 0) -> list[dict[str, Any]]:
        return self.log.records(since)

    def pid(self, component: str) -> int:
        """The pid of a running component (``kube-apiserver``, ``etcd``, ...), 0 when it is not running."""
        path = self.directory / "pids" / f"{component}.pid"
        try:
            return int(path.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return 0

    def restart(self, component: str) -> str:
        """SIGKILL ``component`` and start it again with the same flags (scripts/cluster.py restart)."""
        return self._cluster("restart", component, timeout=120).strip()

    def pause(self, component: str, seconds: float) -> None:
        """SIGSTOP ``component`` for ``seconds`` (at most 60), then SIGCONT (scripts/cluster.py pause)."""
        self._cluster("pause", component, repr(seconds), timeout=90)

    def server(self) -> str:
        import yaml

        config = yaml.safe_load(self.kubeconfig.read_text())
        return str(config["clusters"][0]["cluster"]["server"])

    def client_ssl(self) -> Any:
        """An SSL context with the cluster's CA and the admin's client certificate (for the chaos proxy)."""
        import ssl

        pki = self.directory / "pki"
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return context
