"""Gate stages of active requests, run as background tasks beside the namespace worker.

A stage starts when the worker first asks for its outcome and keeps running while the worker waits on other
events; each change of ``status.gates[]`` is written through the status subresource, and the stage's end wakes the
worker. Stages are keyed by request uid, stage and run, so a new run (or a restart) starts them afresh.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deployreq import errors
from deployreq.api.request import Request
from deployreq.cluster import kube
from deployreq.cluster.cache import Cache
from deployreq.cluster.events import Recorder
from deployreq.decide import rollout, workloads
from deployreq.decide.progress import GateOutcome, run_id
from deployreq.engine.job_runs import JobRuns
from deployreq.gates import (
    GATE_SECRET_LABEL,
    GateClients,
    GateEnv,
    GateError,
    GateSettings,
    Guard,
    RefusedError,
    dns_service_url,
    endpoint_addresses,
    proxy_service_url,
    run_stage,
    service_external_name,
    service_port,
)

log = logging.getLogger(__name__)

Key = tuple[str, str, str]  # (request uid, stage, run id)
OnCheck = Callable[[str, str, float], None]


@dataclass
class StageRun:
    task: asyncio.Task[None]
    started: float
    outcome: GateOutcome | None = None
    waiters: list[Callable[[], None]] = field(default_factory=list)


def new_pods_of(cache: Cache, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
    """A workload's pods of its current template: a Deployment's new ReplicaSet's, or those a StatefulSet or
    DaemonSet labels with its update revision's hash (what the pods gate judges)."""
    obj = cache.workload(namespace, kind, name)
    if obj is None:
        return []
    uid = obj["metadata"]["uid"]
    if kind == "Deployment":
        rs = rollout.new_replicaset(obj, cache.replicasets_of(namespace, uid))
        return cache.pods_of(namespace, {rs["metadata"]["uid"]}) if rs else []
    sts_or_ds: workloads.Kind = "StatefulSet" if kind == "StatefulSet" else "DaemonSet"
    update_hash = workloads.update_hash_of(sts_or_ds, obj, cache.revisions_of(namespace, uid))
    return workloads.new_pods(obj, cache.pods_of(namespace, {uid}), update_hash) if update_hash else []


class GateRuns:
    def __init__(
        self,
        client: kube.Kube,
        cache: Cache,
        settings: GateSettings,
        clients: GateClients,
        guard: Guard,
        on_check: OnCheck | None = None,
        on_stage: Callable[[str, float], None] | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.client = client
        self.cache = cache
        self.settings = settings
        self.clients = clients
        self.guard = guard
        self.on_check = on_check
        self.on_stage = on_stage
        self.recorder = recorder
        self.jobs = JobRuns(client)
        self._runs: dict[Key, StageRun] = {}

    def outcome(
        self, req: Request, stage: str, until: float | None, wake: Callable[[], None]
    ) -> GateOutcome | None:
        """The stage's verdict, starting it when it has not started; None while it runs."""
        key = (req.uid, stage, run_id(req))
        current = self._runs.get(key)
        if current is None:
            gates = req.gates_of(stage)
            task = asyncio.create_task(
                self._run(key, req, stage, gates, until), name=f"gates-{req.ref}-{stage}"
            )
            current = self._runs[key] = StageRun(task, time.monotonic())
        if wake not in current.waiters:
            current.waiters.append(wake)
        return current.outcome

    async def _run(self, key: Key, req: Request, stage: str, gates: list[Any], until: float | None) -> None:
        run = self._runs[key]
        try:
            result = await run_stage(
                gates,
                stage,
                self._env(req, stage),
                until=until,
                on_update=lambda entries: self._publish(req, stage, entries),
                on_check=self.on_check,
            )
            run.outcome = GateOutcome(result.passed, result.message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a check must fail the stage, never the operator
            log.exception("%s: %s gates crashed", req.ref, stage)
            run.outcome = GateOutcome(False, f"{stage} gates could not run: {exc!r}")
        if self.on_stage is not None:
            self.on_stage(stage, time.monotonic() - run.started)
        for wake in run.waiters:
            wake()

    async def _publish(self, req: Request, stage: str, entries: list[dict[str, Any]]) -> None:
        latest = next((r for r in self.cache.requests(req.namespace) if r.uid == req.uid), req)
        listed = latest.status.gates or []
        before = {g.name: g.phase.value for g in listed if g.stage == stage}
        others = [
            g.model_dump(by_alias=True, mode="json", exclude_none=True) for g in listed if g.stage != stage
        ]
        body = await self.client.patch(
            kube.request_path(req.namespace, req.name, "status"), {"status": {"gates": others + entries}}
        )
        self.cache.remember(body)
        if self.recorder is not None:
            for entry in entries:
                phase = entry.get("phase")
                if phase in ("Passed", "Failed") and before.get(str(entry.get("name"))) != phase:
                    detail = entry.get("lastError") or entry.get("lastValue") or ""
                    self.recorder.record(
                        body,
                        f"Gate{phase}",
                        f"{stage} gate {entry.get('name')} "
                        f"({entry.get('kind')}) {phase.lower()}{': ' + detail if detail else ''}",
                        warning=phase == "Failed",
                    )

    def forget(self, uid: str, keep_run: str | None = None) -> None:
        """Stop the stages of a request (all of them, or those of other runs than ``keep_run``)."""
        for key in [k for k in self._runs if k[0] == uid and k[2] != keep_run]:
            run = self._runs.pop(key)
            run.task.cancel()

    def cancel_stage(self, req: Request, stage: str) -> None:
        run = self._runs.pop((req.uid, stage, run_id(req)), None)
        if run is not None:
            run.task.cancel()

    async def close(self) -> None:
        for run in self._runs.values():
            run.task.cancel()
        for run in self._runs.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await run.task
        self._runs.clear()

    async def _check_proxy_backend(self, namespace: str, service: dict[str, Any], port: int | str) -> None:
        """Refuse a Service whose backend the API server would reach from its own network position.

        The API server's service proxy connects to an ExternalName's host, or to an address of the Service's
        Endpoints: an ExternalName is refused outright (the proxy resolves it where the guard cannot pin
        it), every Endpoints address must pass the guard.
        """
        name = service["metadata"]["name"]
        if service_external_name(service) is not None:
            raise RefusedError(
                f"Service {name} is of type ExternalName, which the API server's service proxy would "
                "connect to from its own network; use a url gate (checked by the guard) instead"
            )
        service_port(service, port)  # a port the Service does not have is the user's mistake, said early
        endpoints = await self._read(f"/api/v1/namespaces/{namespace}/endpoints/{name}", "its Endpoints")
        if endpoints is None:
            return  # no backend: the proxy answers 503 and the gate fails on that
        for address, backend_port in endpoint_addresses(endpoints):
            reason = self.guard.refusal(address, backend_port)
            if reason is not None:
                raise RefusedError(f"Service {name} has an endpoint that {reason}")

    async def _read(self, path: str, what: str) -> dict[str, Any] | None:
        """An object a gate needs, None when it does not exist; other API errors as a GateError."""
        try:
            return await self.client.get(path)
        except errors.NotFound:
            return None
        except errors.ApiError as exc:
            raise GateError(f"cannot read {what}: {exc.code} {exc.reason}") from None

    # --- what a check may use ---------------------------------------------------------------------------

    def _env(self, req: Request, stage: str) -> GateEnv:
        namespace = req.namespace
        cache = self.cache
        client = self.client

        async def secret_value(name: str, key: str) -> str:
            secret = await self._read(kube.secret_path(namespace, name), "a Secret")
            if secret is None:
                raise LookupError(name)
            labels = (secret.get("metadata") or {}).get("labels") or {}
            data = secret.get("data") or {}
            if labels.get(GATE_SECRET_LABEL) != "true" or key not in data:
                raise LookupError(name)  # the caller says what to fix without telling which it was
            return base64.b64decode(data[key]).decode()

        async def new_pods() -> list[dict[str, Any]]:
            return [p for t in req.targets for p in new_pods_of(cache, namespace, t.kind.value, t.name)]

        async def service_url(name: str, port: int | str, scheme: str, path: str) -> str:
            service = await self._read(f"/api/v1/namespaces/{namespace}/services/{name}", f"Service {name}")
            if service is None:
                raise GateError(f'Service "{name}" not found in namespace "{namespace}"')
            if self.settings.service_transport == "proxy":
                await self._check_proxy_backend(namespace, service, port)
                return proxy_service_url(
                    client.credentials.server, namespace, name, port, scheme=scheme, path=path
                )
            number = service_port(service, port)
            external = service_external_name(service)
            if external is not None:  # cluster DNS answers with this name: the guard checks it first
                await self.guard.check_url(f"{scheme}://{external}:{number}/")
            return dns_service_url(namespace, name, number, scheme=scheme, path=path)

        return GateEnv(
            namespace=namespace,
            clients=self.clients,
            guard=self.guard,
            settings=self.settings,
            secret_value=secret_value,
            new_pods=new_pods,
            service_url=service_url,
            service_client=client.http if self.settings.service_transport == "proxy" else None,
            run_job=self.jobs.runner(req, stage),
        )
