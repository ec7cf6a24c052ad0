"""A DeploymentRequest as the operator runs on it: parsed once, at the edge, from the body the API returns.

:meth:`Request.parse` is the parsing edge: the spec becomes :class:`~deployreq.api.model.DeploymentRequestSpec`,
the status :class:`~deployreq.api.status_model.DeploymentRequestStatus`, the metadata a few typed fields. Nothing
after it reads a spec or status field from a dict. Parsing never raises: the CRD schema refuses almost every bad
spec at admission, and what it cannot judge is kept for the decisions to refuse with a message (a gate the model
refuses stays as written, for the gate registry to name the problem; a spec the model refuses as a whole is
:attr:`Request.problem`, and the run ends Failed with it). A status field the model cannot read counts as unset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from pydantic import ValidationError

from deployreq.api.base import ImageUpdate, Model
from deployreq.api.model import DeploymentRequestSpec, Gate, Gates
from deployreq.api.names import FINALIZER, RERUN_ANNOTATION
from deployreq.api.phases import ACTIVE, TERMINAL, WAITING, Phase
from deployreq.api.status_model import DeploymentRequestStatus
from deployreq.api.workload import WorkloadKind, WorkloadSpec, target_label

Obj = dict[str, Any]
M = TypeVar("M", bound=Model)
GateSpec = Gate | Mapping[str, Any]
"""A gate as the run has it: the model, or the mapping as written when the model refuses it."""


def resource_version(body: Obj | None) -> int:
    """The resourceVersion as a number, for telling which of two copies of one object is newer (0 if unknown)."""
    if not body:
        return 0
    value = str(body.get("metadata", {}).get("resourceVersion") or "0")
    return int(value) if value.isdigit() else 0


def images_of(listed: list[ImageUpdate] | None) -> dict[str, str]:
    return {i.container: i.image for i in listed or []}


class Summary(Model):
    """The status fields the queue reads of every request (finished ones too), parsed with the request; the rest of
    the status is parsed when first read (most requests of a namespace ended long ago and are never read again)."""

    phase: Phase | None = None
    observed_generation: int | None = None
    observed_rerun: str | None = None
    completed_at: str | None = None


class WorkloadKey(Model):
    kind: WorkloadKind = WorkloadKind.DEPLOYMENT
    name: str = ""


class SpecSummary(Model):
    """The spec fields read of every request (which workloads), parsed with the request; the rest on first use."""

    deployment: str = ""
    workloads: list[WorkloadKey] = []

    @property
    def label(self) -> str:
        """The legacy form's Deployment, or ``deployment/api,statefulset/worker``: what the request targets."""
        if self.deployment or not self.workloads:
            return self.deployment
        return ",".join(f"{w.kind.value.lower()}/{w.name}" for w in self.workloads)


@dataclass(frozen=True)
class Request:
    """One copy of a request (one resourceVersion), typed."""

    body: Obj
    """The object as the API returned it: Events name it, writes are fenced by its resourceVersion."""
    summary: Summary
    spec_summary: SpecSummary
    namespace: str = ""
    name: str = ""
    uid: str = ""
    generation: int = 1
    created: str = ""
    """The creationTimestamp (RFC 3339: sorts as time)."""
    rerun: str = ""
    """The value of the rerun annotation."""
    deleting: bool = False
    finalizers: tuple[str, ...] = ()
    resource_version: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, body: Obj) -> Request:
        meta = body.get("metadata") or {}
        return cls(
            body=body,
            summary=_tolerant(Summary, body.get("status")),
            spec_summary=_tolerant(SpecSummary, body.get("spec")),
            namespace=str(meta.get("namespace", "")),
            name=str(meta.get("name", "")),
            uid=str(meta.get("uid", "")),
            generation=int(meta.get("generation") or 1),
            created=str(meta.get("creationTimestamp", "")),
            rerun=_strings(meta.get("annotations")).get(RERUN_ANNOTATION, ""),
            deleting=bool(meta.get("deletionTimestamp")),
            finalizers=tuple(str(f) for f in meta.get("finalizers") or []),
            resource_version=str(meta.get("resourceVersion") or ""),
            annotations=_strings(meta.get("annotations")),
            labels=_strings(meta.get("labels")),
        )

    @cached_property
    def _spec(self) -> tuple[DeploymentRequestSpec, tuple[tuple[str, GateSpec], ...], str | None]:
        return _parse_spec(self.body.get("spec"))

    @property
    def spec(self) -> DeploymentRequestSpec:
        return self._spec[0]

    @property
    def gate_specs(self) -> tuple[tuple[str, GateSpec], ...]:
        """Every gate of pre and post in order, with its stage: typed, or as written when the model refuses it."""
        return self._spec[1]

    @property
    def problem(self) -> str | None:
        """Why the model refuses the spec as a whole (only without the CRD's schema); the run ends Failed with it."""
        return self._spec[2]

    @cached_property
    def status(self) -> DeploymentRequestStatus:
        return _tolerant(DeploymentRequestStatus, self.body.get("status"))

    @property
    def has_finalizer(self) -> bool:
        return FINALIZER in self.finalizers

    @property
    def phase(self) -> Phase:
        return self.summary.phase or Phase.PENDING

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE

    @property
    def waiting(self) -> bool:
        return self.phase in WAITING

    @property
    def deployment(self) -> str:
        """The legacy form's Deployment; for spec.workloads what it targets (``deployment/api,statefulset/worker``,
        never a Deployment's name): the key the queue, pruning, notifications and the report group by."""
        return self.spec_summary.label

    @property
    def is_release(self) -> bool:
        """Whether the request uses spec.workloads (run by :mod:`deployreq.decide.release`)."""
        return self.spec.workloads is not None

    @property
    def targets(self) -> list[WorkloadSpec]:
        """The workloads to change in order: spec.workloads, or the legacy form as one Deployment."""
        spec = self.spec
        if spec.workloads is not None:
            return list(spec.workloads)
        if not spec.deployment:
            return []
        return [
            WorkloadSpec.model_construct(
                kind=WorkloadKind.DEPLOYMENT, name=spec.deployment, images=spec.images or []
            )
        ]

    @property
    def target(self) -> str:
        return target_label(self.targets)

    def images_for(self, kind: str, name: str) -> tuple[dict[str, str], dict[str, str]] | None:
        """The images this run sets on one workload and those it replaced; None when it does not change it."""
        if not self.is_release:
            if kind != WorkloadKind.DEPLOYMENT.value or self.deployment != name:
                return None
            return self.run_images, self.previous_images
        for t in self.targets:
            if t.kind.value == kind and t.name == name:
                done = [e for e in self.status.workloads or [] if e.kind == t.kind and e.name == name]
                return t.image_map, images_of(done[0].previous_images if done else None)
        return None

    @property
    def priority(self) -> str:
        return self.spec.priority.value

    @property
    def spec_images(self) -> dict[str, str]:
        """The images asked for: of spec.images, or of every workload (container names may repeat across them)."""
        if self.spec.workloads is not None:
            return {c: i for w in self.spec.workloads for c, i in w.image_map.items()}
        return images_of(self.spec.images)

    @property
    def run_images(self) -> dict[str, str]:
        """The images of the current run: the snapshot taken at its start (spec may have changed since)."""
        return images_of(self.status.images) or self.spec_images

    @property
    def previous_images(self) -> dict[str, str]:
        return images_of(self.status.previous_images)

    def gates_of(self, stage: str) -> list[GateSpec]:
        """The gates of ``stage`` (pre or post) as written, typed where the model accepts them."""
        return [gate for s, gate in self.gate_specs if s == stage]

    def has_gates(self, stage: str) -> bool:
        """Whether ``stage`` runs gates: some are listed and ``spec.gates.skip`` is not set."""
        return bool(self.gates_of(stage)) and not self.spec.gates.skip

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


def _strings(raw: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}


def _model_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"spec.{where}: {message}" if where else f"spec: {message}"


GATE_FIELDS = frozenset(f.alias or name for name, f in Gate.model_fields.items())


def _known_fields_only(raw: Any) -> bool:
    """Whether every gate names only fields of the model (an unknown kind is kept as written, for the registry)."""
    gates = raw.get("gates") if isinstance(raw, Mapping) else None
    if not isinstance(gates, Mapping):
        return True
    listed = [g for stage in ("pre", "post") for g in gates.get(stage) or []]
    return all(isinstance(g, Mapping) and set(g) <= GATE_FIELDS for g in listed)


def _gate_of(item: Any) -> GateSpec:
    if isinstance(item, Mapping) and set(item) <= GATE_FIELDS:
        try:
            return Gate.model_validate(item)
        except ValidationError:
            return item
    return item if isinstance(item, Mapping) else {"name": str(item)}


def _parse_gates(raw: Any) -> tuple[Gates, tuple[tuple[str, GateSpec], ...]]:
    """The stages with the gates the model accepts, and every gate in order (refused ones as written)."""
    raw = raw if isinstance(raw, Mapping) else {}
    listed: list[tuple[str, GateSpec]] = []
    for stage in ("pre", "post"):
        listed += [(stage, _gate_of(item)) for item in raw.get(stage) or []]
    typed = {s: [g for st, g in listed if st == s and isinstance(g, Gate)] for s in ("pre", "post")}
    gates = Gates.model_construct(pre=typed["pre"], post=typed["post"], skip=bool(raw.get("skip")))
    return gates, tuple(listed)


def _parse_spec(raw: Any) -> tuple[DeploymentRequestSpec, tuple[tuple[str, GateSpec], ...], str | None]:
    raw = dict(raw) if isinstance(raw, Mapping) else {}
    if _known_fields_only(raw):
        try:  # the common case: the whole spec at once
            spec = DeploymentRequestSpec.model_validate(raw)
            return spec, tuple((s, g) for s in ("pre", "post") for g in getattr(spec.gates, s)), None
        except ValidationError:
            pass
    gates, listed = _parse_gates(raw.pop("gates", None))
    try:
        spec = DeploymentRequestSpec.model_validate(raw)
    except ValidationError as exc:
        fallback = DeploymentRequestSpec.model_construct(
            deployment=str(raw.get("deployment") or ""), images=[], workloads=None
        )
        return fallback.model_copy(update={"gates": gates}), listed, _model_error(exc)
    return spec.model_copy(update={"gates": gates}), listed, None


def _tolerant(model: type[M], raw: Any) -> M:
    """``raw`` as ``model``; a field the model cannot read (in a status, only written by hand: the schema checks
    every write) is unset."""
    data = dict(raw) if isinstance(raw, Mapping) else {}
    for _ in range(len(data) + 1):
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            if not bad & set(data):
                break
            data = {k: v for k, v in data.items() if k not in bad}
    return model()
