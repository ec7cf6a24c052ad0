"""The one interface every gate kind implements, the environment a check may use, and the gate errors.

A check observes once and says pass, fail or inconclusive; it does not count, wait or decide the gate's phase:
that is :mod:`deployreq.gates.tracker`'s job, and the runner's to call it on time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from deployreq.gates.redact import Redactor

if TYPE_CHECKING:
    import httpx

    from deployreq.api.job_spec import JobGate
    from deployreq.gates.client import GateClients
    from deployreq.gates.guard import Guard
    from deployreq.gates.settings import GateSettings


class GateError(Exception):
    """A check could not be carried out as written (bad spec, missing Secret, refused address).

    The message goes into ``status.gates[].lastError``: it must never hold a header value or Secret content.
    ``final`` errors fail the gate at once: repeating the check cannot change them.
    """

    def __init__(self, message: str, *, final: bool = False) -> None:
        super().__init__(message)
        self.final = final


@dataclass(frozen=True)
class Observation:
    """One check's outcome. ``passed`` None means inconclusive (no data yet): it counts as neither."""

    passed: bool | None
    value: str = ""
    error: str = ""
    final: bool = False
    """A failure that retrying cannot change (a refused address): the gate fails at once."""


SecretValue = Callable[[str, str], Awaitable[str]]
"""``secret_value(name, key)``: the decoded value of a key of a Secret in the request's namespace.
Raises :class:`GateError` or :class:`LookupError` (message without the value) when missing."""

NewPods = Callable[[], Awaitable[list[dict[str, Any]]]]
"""``new_pods()``: the Deployment's pods of its new ReplicaSet, as API dicts."""

ServiceUrl = Callable[[str, "int | str", str, str], Awaitable[str]]
"""``service_url(name, port, scheme, path)``: the URL reaching a Service of the request's namespace, after
checking where it leads (an ExternalName by the guard; the proxy's backend addresses by the guard).
Raises :class:`GateError` when the Service is missing or leads somewhere the guard refuses."""

RunJob = Callable[[str, "JobGate"], Awaitable[Observation]]
"""``run_job(gate, job)``: create the gate's Job in the request's namespace (or find the one this run created),
wait until it finishes and say how it ended (a failure is final: the Job's own retries are spent)."""


@dataclass(frozen=True)
class GateEnv:
    """What a check may use; one per request run, built by the operator."""

    namespace: str
    clients: GateClients
    guard: Guard
    settings: GateSettings
    secret_value: SecretValue
    new_pods: NewPods
    service_url: ServiceUrl
    redact: Redactor = field(default_factory=Redactor)
    """Masks the Secret values this request's gates sent; applied to every observation before it is
    published (:mod:`deployreq.gates.runner`)."""
    service_client: httpx.AsyncClient | None = None
    """The client carrying the operator's API credentials, for ``service`` targets reached through the API
    server's service proxy (``--gate-service-transport proxy``); None when Services are reached by cluster
    DNS. Requests through it are never redirected (:func:`deployreq.gates.fetch.fetch`), and ``service_url``
    checks the Service's backend addresses with the guard before the URL is handed out."""
    run_job: RunJob | None = None
    """Runs a ``job`` gate's Job (the operator's API access stays with the engine); None where Jobs cannot run."""


class Check(Protocol):
    """One gate kind's check, built from the spec by the registry; may keep state between observations."""

    kind: str

    async def observe(self, env: GateEnv) -> Observation: ...
