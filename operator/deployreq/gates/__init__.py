"""Health gates: checks run before the operator changes a Deployment (pre) and while it verifies (post).

One module per gate kind (``http``, ``prometheus``, ``pods``) behind the :class:`~deployreq.gates.base.Check`
protocol, a registry mapping the spec's member name to a factory, a pure tracker turning observations into
a gate phase, a runner driving a stage's gates concurrently, and the SSRF guard every user-named URL passes.
"""

from __future__ import annotations

from deployreq.gates.base import Check, GateEnv, GateError, Observation
from deployreq.gates.client import GateClients, make_clients
from deployreq.gates.guard import Guard, RefusedError
from deployreq.gates.registry import build_check, gate_kind, validate_gates
from deployreq.gates.runner import Clock, Stage, StageResult, SystemClock, run_stage, skip_refusal
from deployreq.gates.settings import GateSettings
from deployreq.gates.tracker import GatePhase, GateRecord, Thresholds

__all__ = [
    "Check",
    "Clock",
    "GateClients",
    "GateEnv",
    "GateError",
    "GatePhase",
    "GateRecord",
    "GateSettings",
    "Guard",
    "Observation",
    "RefusedError",
    "Stage",
    "StageResult",
    "SystemClock",
    "Thresholds",
    "build_check",
    "gate_kind",
    "make_clients",
    "run_stage",
    "skip_refusal",
    "validate_gates",
]
