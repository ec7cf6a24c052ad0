"""The operator as a real process, and a per-test namespace with helpers that read like what a user does."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch

from tests.support import KubesimProcess, kubectl_binary, run_kubectl
from tests.system.cluster import ImageMap

__all__ = ["KubesimProcess", "Namespace", "OperatorProcess", "StubServer", "kubectl_binary", "run_kubectl"]

GROUP, VERSION, PLURAL = "deployreq.dev", "v1alpha1", "deploymentrequests"
TERMINAL = {"Succeeded", "Failed", "RolledBack", "Cancelled", "Superseded"}


class OperatorProcess:
    """``deployreq run`` against a kubeconfig; output kept in a log file for failures."""

    def __init__(
        self,
        kubeconfig: Path,
        workdir: Path,
        identity: str = "test-operator",
        extra_args: Iterable[str] = (),
        verbose: bool = True,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.identity = identity
        self.extra_args = list(extra_args)
        self.verbose = verbose
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"operator-{identity}.log"
        self.starts = 0

    def start(self) -> None:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        self.starts += 1
        self._close_log()
        log = self._log = self.log_path.open("ab")
        log.write(f"\n===== start {self.starts} =====\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deployreq",
                "run",
                "--identity",
                self.identity,
                "--log-format",
                "text",
                "--lease-duration",
                "4",
                "--renew-interval",
                "1",
                *(["--verbose"] if self.verbose else []),
                *self.extra_args,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def _close_log(self) -> None:
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as when a node dies."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._close_log()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._close_log()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def api_client(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))


@dataclass
class Namespace:
    """A fresh namespace for one test, and what a user does in it."""

    api: client.ApiClient
    name: str = field(default_factory=lambda: f"t-{uuid.uuid4().hex[:8]}")
    map: ImageMap = field(default_factory=lambda: ImageMap(real_cluster=False))
    """Test image names ↔ the cluster's images (the identity on kubesim)."""
    slow: float = 1.0
    """Factor applied to every wait (see Cluster.slow)."""

    def __post_init__(self) -> None:
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        self.core.create_namespace({"metadata": {"name": self.name}})

    # --- Deployments -----------------------------------------------------------------------------------

    def deployment(
        self,
        name: str = "web",
        images: dict[str, str] | None = None,
        replicas: int = 2,
        wait: bool = True,
        **spec: Any,
    ) -> dict[str, Any]:
        images = images or {"app": "registry.example/web:1.0"}
        body = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": c, "image": i} for c, i in images.items()]},
                },
                **spec,
            },
        }
        self.apps.create_namespaced_deployment(self.name, self.map.to_real(body))
        if wait:
            self.wait_deployment_available(name)
        return self.get_deployment(name)

    def get_deployment(self, name: str = "web") -> dict[str, Any]:
        return self.map.to_test(  # type: ignore[no-any-return]
            self.api.sanitize_for_serialization(self.apps.read_namespaced_deployment(name, self.name))
        )

    def images(self, name: str = "web") -> dict[str, str]:
        dep = self.get_deployment(name)
        return {c["name"]: c["image"] for c in dep["spec"]["template"]["spec"]["containers"]}

    def replicasets(self, name: str = "web") -> list[dict[str, Any]]:
        items = self.apps.list_namespaced_replica_set(self.name).items
        return [
            self.map.to_test(self.api.sanitize_for_serialization(rs))
            for rs in items
            if rs.metadata.name.startswith(f"{name}-")
        ]

    def wait_deployment_available(self, name: str = "web", timeout: float = 30) -> None:
        def done(dep: dict[str, Any]) -> bool:  # what `kubectl rollout status` checks
            st, spec = dep.get("status") or {}, dep.get("spec") or {}
            return (
                st.get("observedGeneration", 0) >= dep["metadata"].get("generation", 0)
                and st.get("updatedReplicas", 0) == spec.get("replicas", 1)
                and st.get("availableReplicas", 0) == spec.get("replicas", 1)
                and st.get("replicas", 0) == spec.get("replicas", 1)
            )

        def list_fn(**kw: Any) -> Any:
            return self.apps.list_namespaced_deployment(self.name, **kw)

        watch_until(list_fn, name, done, timeout * self.slow, f"deployment {name} available", self.api)

    # --- StatefulSets and DaemonSets --------------------------------------------------------------------

    def workload(self, kind: str, name: str, image: str = "registry.example/web:1.0", **spec: Any) -> None:
        """A StatefulSet (two replicas unless given) or DaemonSet with one container "app" running ``image``."""
        template = {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": image}]},
        }
        body: dict[str, Any] = {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": template, **spec},
        }
        if kind == "StatefulSet":
            body["spec"] = {"replicas": 2, "serviceName": name, **body["spec"]}
            self.apps.create_namespaced_stateful_set(self.name, self.map.to_real(body))
        else:
            self.apps.create_namespaced_daemon_set(self.name, self.map.to_real(body))

    def get_workload(self, kind: str, name: str) -> dict[str, Any]:
        read = (
            self.apps.read_namespaced_stateful_set
            if kind == "StatefulSet"
            else self.apps.read_namespaced_daemon_set
        )
        if kind == "Deployment":
            read = self.apps.read_namespaced_deployment
        return self.map.to_test(self.api.sanitize_for_serialization(read(name, self.name)))  # type: ignore[no-any-return]

    def workload_image(self, kind: str, name: str) -> str:
        return str(self.get_workload(kind, name)["spec"]["template"]["spec"]["containers"][0]["image"])

    def release(self, name: str, workloads: list[tuple[str, str, str]], **spec: Any) -> dict[str, Any]:
        """A request of several workloads: (kind, name, image of container "app") each, in order."""
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "DeploymentRequest",
            "metadata": {"name": name},
            "spec": {
                "workloads": [
                    {"kind": k, "name": n, "images": [{"container": "app", "image": i}]}
                    for k, n, i in workloads
                ],
                **spec,
            },
        }
        return self.map.to_test(  # type: ignore[no-any-return]
            self.custom.create_namespaced_custom_object(
                GROUP, VERSION, self.name, PLURAL, self.map.to_real(body)
            )
        )

    # --- DeploymentRequests ----------------------------------------------------------------------------

    def request(
        self, name: str, images: dict[str, str], deployment: str = "web", **spec: Any
    ) -> dict[str, Any]:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "DeploymentRequest",
            "metadata": {"name": name},
            "spec": {
                "deployment": deployment,
                "images": [{"container": c, "image": i} for c, i in images.items()],
                **spec,
            },
        }
        return self.map.to_test(  # type: ignore[no-any-return]
            self.custom.create_namespaced_custom_object(
                GROUP, VERSION, self.name, PLURAL, self.map.to_real(body)
            )
        )

    def get(self, name: str) -> dict[str, Any]:
        return self.map.to_test(  # type: ignore[no-any-return]
            self.custom.get_namespaced_custom_object(GROUP, VERSION, self.name, PLURAL, name)
        )

    def patch(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.map.to_test(  # type: ignore[no-any-return]
            self.custom.patch_namespaced_custom_object(
                GROUP, VERSION, self.name, PLURAL, name, self.map.to_real(body)
            )
        )

    def delete(self, name: str) -> None:
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.name, PLURAL, name)

    def exists(self, name: str) -> bool:
        try:
            self.get(name)
        except client.ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def wait_phase(self, name: str, *phases: str, timeout: float = 60) -> dict[str, Any]:
        """Wait, on a watch, until the request's phase is one of ``phases`` (any terminal phase if none given)."""
        wanted = set(phases) or TERMINAL
        return self.wait_request(
            name,
            lambda obj: (obj.get("status") or {}).get("phase") in wanted,
            timeout,
            f"phase in {sorted(wanted)}",
        )

    def wait_request(
        self,
        name: str,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 60,
        what: str = "condition",
    ) -> dict[str, Any]:
        def list_fn(**kw: Any) -> Any:
            return self.custom.list_namespaced_custom_object(GROUP, VERSION, self.name, PLURAL, **kw)

        found = watch_until(
            list_fn,
            name,
            lambda obj: predicate(self.map.to_test(obj)),
            timeout * self.slow,
            f"request {self.name}/{name}: {what}",
        )
        return self.map.to_test(found)  # type: ignore[no-any-return]

    def wait_gone(self, name: str, timeout: float = 60) -> None:
        wait_for(
            lambda: self.exists(name),
            lambda present: not present,
            timeout * self.slow,
            f"request {name} deleted",
        )


def watch_until(
    list_fn: Callable[..., Any],
    name: str,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float,
    what: str,
    api: client.ApiClient | None = None,
) -> dict[str, Any]:
    """List, then watch from the list's resourceVersion, until the named object satisfies ``predicate``."""

    def plain(obj: Any) -> dict[str, Any]:
        if isinstance(obj, dict):
            return obj
        return (api or client.ApiClient()).sanitize_for_serialization(obj)  # type: ignore[no-any-return]

    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        listing = list_fn(field_selector=f"metadata.name={name}")
        items = listing["items"] if isinstance(listing, dict) else listing.items
        rv = (
            listing["metadata"]["resourceVersion"]
            if isinstance(listing, dict)
            else listing.metadata.resource_version
        )
        for obj in items:
            last = plain(obj)
            if predicate(last):
                return last
        stream = watch.Watch()
        for event in stream.stream(
            list_fn,
            field_selector=f"metadata.name={name}",
            resource_version=rv,
            timeout_seconds=max(1, int(deadline - time.monotonic())),
        ):
            last = plain(event["object"])
            if event["type"] != "DELETED" and predicate(last):
                stream.stop()
                return last
    raise AssertionError(f"timed out waiting for {what}; last status: {last.get('status')}")


def table(output: str) -> list[dict[str, str]]:
    """The rows of a ``kubectl get`` table by column. kubectl leaves the cell of an absent value empty, so the cells
    are cut at the header's column starts (kubectl pads every column to its widest cell)."""
    header, *rows = output.splitlines()
    names = header.split()
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    return [
        {
            name: row[a:b].strip()
            for name, a, b in zip(names, starts, [*starts[1:], len(row) + 1], strict=True)
        }
        for row in rows
    ]


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float, what: str) -> Any:
    """Re-read until ``done``; for state without a convenient watch. Bounded in time."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    value = None
    while time.monotonic() < deadline:
        value = read()
        if done(value):
            return value
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    raise AssertionError(f"timed out waiting for {what}; last: {value!r}")


class StubServer:
    """A local HTTP server standing in for an application or Prometheus: answers from ``respond`` (status, body
    and optionally extra headers) and records every request it got (path, headers, body)."""

    def __init__(
        self, respond: Callable[[str, str, bytes], tuple[int, str] | tuple[int, str, dict[str, str]]]
    ) -> None:
        import http.server
        import threading

        self.respond = respond
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers.items()),
                        "body": body,
                    }
                )
                code, text, *extra = outer.respond(self.command, self.path, body)
                data = text.encode()
                self.send_response(code)
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_HEAD = _answer  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
