"""What every namespace worker shares: settings, the API client, the cache, the actions, Events, clocks, observers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.cluster import kube
from deployreq.cluster.budget import Budgets
from deployreq.cluster.cache import Cache
from deployreq.cluster.events import Recorder
from deployreq.config import Settings
from deployreq.engine.actions import Actions
from deployreq.engine.gate_runs import GateRuns

Observer = Callable[[str, Request, Phase], None]
"""Told of every phase a worker writes: (namespace, the request as written, the phase)."""


@dataclass
class Context:
    settings: Settings
    client: kube.Kube
    cache: Cache
    actions: Actions
    recorder: Recorder
    wall: Callable[[], float] = time.time
    """Epoch seconds: what status times and decisions use (tests pass a fake clock)."""
    monotonic: Callable[[], float] = time.monotonic
    """For the workers' timers and the Lease's expiry (never compared with another machine's clock)."""
    observers: list[Observer] = field(default_factory=list)
    on_takeover: Callable[[], None] | None = None
    gates: GateRuns | None = None
    kinds_ready: Callable[[Callable[[], None]], bool] | None = None
    """Whether the StatefulSet, DaemonSet and ControllerRevision mirrors have listed once (started on the first
    call; the callback is called once they have). None: the mirrors are filled by other means (tests)."""
    on_hold: Callable[[str, str], None] | None = None
    """Told when a DeployPolicy begins to hold a request back: (policy, the metrics' reason)."""
    budgets: Budgets | None = None
    """The budgets' slot Leases (None: budgets are not enforced, as in tests without the operator's namespace)."""
