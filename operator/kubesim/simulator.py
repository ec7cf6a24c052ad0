"""kubesim assembled: the store, its admission hooks, the CRD lifecycle, the controllers, the HTTP server and the
admin endpoints under /kubesim/."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiohttp import web

from kubesim.admission.mutating import MutatingPolicyAdmission
from kubesim.admission.validating import PolicyAdmission
from kubesim.api import errors
from kubesim.api.resources import from_crd
from kubesim.auth import bootstrappolicy
from kubesim.auth.rbac import Authorizer
from kubesim.controllers import ControllerSettings, run_controllers
from kubesim.endpoints.audit import AuditLog, encode
from kubesim.endpoints.codec import json_response
from kubesim.endpoints.faults import FaultPlan
from kubesim.endpoints.proxy import ServiceProxy
from kubesim.endpoints.server import ApiServer
from kubesim.endpoints.tls import CertificateAuthority, ServingCertificates
from kubesim.registry.admissionpolicies import admit_admission_config
from kubesim.registry.builtin_defaults import admit_builtin
from kubesim.registry.customresources import admit_custom
from kubesim.registry.strategies import strategy_for
from kubesim.storage.objects import clone, now_rfc3339
from kubesim.storage.store import Store
from kubesim.storage.watch import Event

log = logging.getLogger(__name__)
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")


class Simulator:
    def __init__(
        self,
        token: str = "kubesim-token",
        audit_log: Path | None = None,
        audit_bodies: bool = False,
        settings: ControllerSettings | None = None,
        seed: int = 0,
        bookmark_interval: float = 30.0,
        extra_tokens: dict[str, str] | None = None,
        nodes: int = 3,
        tls: bool = True,
    ) -> None:
        """``tls``: serve HTTPS with a CA generated here (``ca_pem``, ``client_ssl()``); False serves plain HTTP,
        where a request without credentials is the admin."""
        self.store = Store(strategy_for=strategy_for, seed=seed)
        self.audit = AuditLog(audit_log, with_bodies=audit_bodies)
        self.faults = FaultPlan(seed=seed)
        self.settings = settings or ControllerSettings()
        self.token = token
        tokens = {token: "kubesim-admin", **(extra_tokens or {})}
        self.tls = tls
        self.ca = CertificateAuthority()
        self.certificates: ServingCertificates | None = None
        self.server = ApiServer(
            self.store, self.audit, tokens, self.faults, bookmark_interval, insecure=not tls
        )
        self.server.proxy = ServiceProxy(self.store)
        self.server.authorizer = Authorizer(self.store)
        self.store.admission.append(admit_builtin)
        self.store.admission.append(admit_custom)
        self.store.admission.append(admit_admission_config)
        self.store.admission.append(PolicyAdmission(self.store))  # last, as validating admission runs
        self.store.mutating.append(MutatingPolicyAdmission(self.store))  # before all of the above
        self.store.listeners.append(self._crd_changed)
        self.server.admin.update(
            {
                "/kubesim/audit": self._admin_audit,
                "/kubesim/settings": self._admin_settings,
                "/kubesim/faults": self._admin_faults,
                "/kubesim/compact": self._admin_compact,
                "/kubesim/watches": self._admin_watches,
            }
        )
        self._runner: web.AppRunner | None = None
        self._controllers: asyncio.Task[None] | None = None
        self.crashed = asyncio.Event()
        """Set when the controllers stopped with an error: a cluster whose controllers are dead must not look alive."""
        self.crash: BaseException | None = None
        self.url = ""
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.store.create(self.store.require("", "namespaces"), None, {"metadata": {"name": name}})
        for i in range(nodes):
            self._add_node(i)
        bootstrappolicy.create(self.store)

    @property
    def ca_pem(self) -> bytes:
        """The CA (PEM) the server's certificate is signed by, also in every namespace's kube-root-ca.crt."""
        return self.ca.pem

    def client_ssl(self) -> ssl.SSLContext:
        """A client's TLS context trusting this server's CA."""
        return ssl.create_default_context(cadata=self.ca.pem.decode())

    def _add_node(self, index: int) -> None:
        """A Ready Node as a kubelet registers it: ``kubesim-node``, ``kubesim-node-1``, ...; the scheduler spreads
        pods over them."""
        name = "kubesim-node" if index == 0 else f"kubesim-node-{index}"
        rt = self.store.require("", "nodes")
        labels = {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "type": "kubesim",
        }
        self.store.create(rt, None, {"metadata": {"name": name, "labels": labels}, "spec": {}})
        node = clone(self.store.get(rt, None, name))
        node["status"] = _node_status(index, name, now_rfc3339(self.store.clock))
        self.store.update(rt, None, name, node, subresource="status")

    # --- CRDs -------------------------------------------------------------------------------------------

    def _crd_changed(self, rt: Any, event: Event) -> None:
        if rt.key != CRD_KEY:
            return
        crd = event.object
        if event.type == "DELETED":
            spec = crd["spec"]
            self.store.unregister((spec["group"], spec["names"]["plural"]))
            return
        if crd["metadata"].get("deletionTimestamp"):
            return
        self.store.register(from_crd(crd))
        conditions = {c["type"]: c.get("status") for c in (crd.get("status") or {}).get("conditions") or []}
        if conditions.get("Established") != "True":
            asyncio.get_running_loop().call_soon(self._establish, crd["metadata"]["name"])

    def _establish(self, name: str) -> None:
        rt = self.store.require(*CRD_KEY)
        crd = self.store.peek(rt, None, name)
        if crd is None:
            return
        stamp = now_rfc3339(self.store.clock)
        updated = clone(crd)
        names = dict(crd["spec"]["names"])
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", f"{names['kind']}List")
        updated["status"] = {
            "acceptedNames": names,
            "storedVersions": [v["name"] for v in crd["spec"]["versions"] if v.get("storage")],
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                    "lastTransitionTime": stamp,
                },
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                    "lastTransitionTime": stamp,
                },
            ],
        }
        self.store.update(rt, None, name, updated, subresource="status")

    # --- admin ------------------------------------------------------------------------------------------

    async def _admin_audit(self, request: web.Request) -> web.StreamResponse:
        if request.method == "DELETE":
            self.audit.clear()
            return json_response({"cleared": True})
        since = int(request.query.get("since", "0"))
        body = "\n".join(encode(r) for r in self.audit.since(since))
        return web.Response(text=body + ("\n" if body else ""), content_type="application/x-ndjson")

    async def _admin_settings(self, request: web.Request) -> web.StreamResponse:
        if request.method in ("PATCH", "PUT", "POST"):
            changes = await request.json()
            for key, value in changes.items():
                if not hasattr(self.settings, key):
                    raise errors.bad_request(f"unknown setting {key}")
                setattr(self.settings, key, value)
        return json_response(asdict(self.settings))

    async def _admin_faults(self, request: web.Request) -> web.StreamResponse:
        if request.method in ("PUT", "POST", "PATCH"):
            self.faults.configure(await request.json())
        return json_response(self.faults.describe())

    async def _admin_compact(self, request: web.Request) -> web.StreamResponse:
        self.store.compact()
        return json_response({"resourceVersion": str(self.store.resource_version)})

    async def _admin_watches(self, request: web.Request) -> web.StreamResponse:
        """DELETE ends every open watch, as an API server restart or a dropped connection does."""
        if request.method != "DELETE":
            return json_response({"open": self.store.watcher_count()})
        ended = self.store.watcher_count()
        self.store.close_watches()
        return json_response({"ended": ended})

    # --- lifecycle --------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._controllers = asyncio.create_task(
            run_controllers(self.store, self.settings, root_ca=self.ca.pem.decode())
        )
        self._controllers.add_done_callback(self._controllers_ended)
        self._runner = web.AppRunner(
            self.server.app(), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        context = None
        if self.tls:
            self.certificates = self.ca.issue(host)
            context = self.certificates.server_context()
        site = web.TCPSite(self._runner, host, port, backlog=1024, ssl_context=context)
        await site.start()
        server: Any = site._server
        sockets = server.sockets if server is not None else []
        bound = sockets[0].getsockname()[1] if sockets else port
        self.url = f"{'https' if self.tls else 'http'}://{host}:{bound}"
        return self.url

    def _controllers_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        self.crash = task.exception()
        log.critical("kubesim's controllers stopped", exc_info=self.crash)
        self.crashed.set()

    async def stop(self) -> None:
        if self._controllers is not None:
            self._controllers.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._controllers
        self.store.close_watches()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.server.proxy is not None:
            await self.server.proxy.close()
        self.audit.close()


def _node_status(index: int, name: str, stamp: str) -> dict[str, Any]:
    """A Ready Node's status as a kubelet reports it."""
    resources = {"cpu": "32", "memory": "256Gi", "pods": "110"}
    condition_texts = (
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        (
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    )
    return {
        "capacity": dict(resources),
        "allocatable": dict(resources),
        "phase": "Running",
        "conditions": [
            {
                "type": kind,
                "status": status,
                "lastHeartbeatTime": stamp,
                "lastTransitionTime": stamp,
                "reason": reason,
                "message": message,
            }
            for kind, status, reason, message in condition_texts
        ],
        "addresses": [
            {"type": "InternalIP", "address": f"10.0.0.{index + 1}"},
            {"type": "Hostname", "address": name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": "",
            "systemUUID": "",
            "bootID": "",
            "kernelVersion": "",
            "osImage": "kubesim",
            "containerRuntimeVersion": "kubesim://1.0",
            "kubeletVersion": "v1.32.0-kubesim",
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }
