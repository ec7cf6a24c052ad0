"""The ``job`` gate's decisions, pure: the Job's name, the Job the operator submits, what it refuses in a JobSpec,
and the verdict a Job's status gives.

The name is derived from the request, the stage, the gate and the run (its generation, rerun and attempt), so a
restarted operator finds the Job it created instead of creating a second one, and a new run (``deployreq rerun``,
a retry, a new generation) creates a new Job. It is a DNS label of at most 63 characters.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from deployreq.api.job_spec import DEFAULT_TTL_SECONDS, JobGate
from deployreq.api.names import API_VERSION, GROUP, KIND, RUN_ANNOTATION
from deployreq.api.request import Request
from deployreq.decide.progress import run_id

Obj = dict[str, Any]

MAX_NAME = 63
REQUEST_LABEL = f"{GROUP}/request"
GATE_LABEL = f"{GROUP}/gate"
STAGE_LABEL = f"{GROUP}/stage"
RUN_LABEL = f"{GROUP}/run"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def run_key(req: Request) -> str:
    """Names one run of the request, attempt included (the value of the Job's ``deployreq.dev/run`` label)."""
    return _digest(req.uid, run_id(req), str(req.status.attempt or 1))[:12]


def job_name(req: Request, stage: str, gate: str) -> str:
    """``<request>-<gate>-<hash of run, stage and gate>``, shortened to a DNS label of at most 63 characters."""
    suffix = _digest(run_key(req), stage, gate)[:10]
    prefix = re.sub(r"[^a-z0-9-]", "-", f"{req.name}-{gate}".lower())
    prefix = prefix[: MAX_NAME - len(suffix) - 1].strip("-")
    return f"{prefix}-{suffix}" if prefix else f"job-{suffix}"


def label_value(value: str) -> str:
    """``value`` as a label value (at most 63 of alphanumerics, '-', '_', '.', alphanumeric at both ends)."""
    clean = re.sub(r"[^A-Za-z0-9._-]", "-", value)
    if len(clean) > MAX_NAME:
        clean = f"{clean[:52]}-{_digest(value)[:10]}"
    return clean.strip("-_.")


def labels(req: Request, stage: str, gate: str) -> dict[str, str]:
    return {
        REQUEST_LABEL: label_value(req.name),
        GATE_LABEL: gate,
        STAGE_LABEL: stage,
        RUN_LABEL: run_key(req),
    }


def user_spec(gate: JobGate) -> Obj:
    """The JobSpec as the user wrote it (fields the model does not name included)."""
    return gate.spec.model_dump(by_alias=True, exclude_unset=True, mode="json")


def job_body(req: Request, stage: str, gate: str, job: JobGate) -> Obj:
    """The Job the operator creates for a gate: the user's JobSpec with a TTL (the default when none is set),
    labelled, annotated with the run, owned by the request (deleted with it, in the background)."""
    spec = user_spec(job)
    spec.setdefault("ttlSecondsAfterFinished", DEFAULT_TTL_SECONDS)
    owner = {"apiVersion": API_VERSION, "kind": KIND, "name": req.name, "uid": req.uid}
    metadata = {
        "name": job_name(req, stage, gate),
        "namespace": req.namespace,
        "labels": labels(req, stage, gate),
        "annotations": {RUN_ANNOTATION: run_id(req)},
        "ownerReferences": [owner],
    }
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}


def service_account(subject: str | None) -> tuple[str, str] | None:
    """(namespace, name) of a ServiceAccount user name ``system:serviceaccount:NS:NAME``; None for other users."""
    parts = (subject or "").split(":")
    if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"] and all(parts[2:]):
        return parts[2], parts[3]
    return None


def refusal(job: JobGate, namespace: str, own_account: tuple[str, str] | None) -> str | None:
    """Why the operator will not run this JobSpec: it names the operator's own ServiceAccount (the Job would run
    with the operator's credentials). None when it may run."""
    if own_account is None or own_account[0] != namespace:
        return None
    pod = job.spec.template.spec
    extra = pod.model_extra or {}
    named = {pod.service_account_name or "", str(extra.get("serviceAccount") or "")} - {""}
    if own_account[1] in named or (not named and own_account[1] == "default"):
        return (
            f'the Job would run as ServiceAccount "{own_account[1]}", the operator\'s own; the operator never '
            "lends its credentials: name another ServiceAccount of the namespace"
        )
    return None


@dataclass(frozen=True)
class JobVerdict:
    """A finished Job's outcome: passed, and what the gate reports (the Job's own condition reason and message)."""

    passed: bool
    message: str


def condition(job: Obj, kind: str) -> Obj | None:
    """The Job's condition of type ``kind`` when its status is True."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind and cond.get("status") == "True":
            return dict(cond)
    return None


def verdict(job: Obj) -> JobVerdict | None:
    """Complete: passed; Failed: failed with the condition's reason and message; None while the Job runs."""
    name = (job.get("metadata") or {}).get("name", "?")
    if condition(job, "Complete") is not None:
        succeeded = (job.get("status") or {}).get("succeeded") or 0
        return JobVerdict(True, f"Job {name} complete ({succeeded} succeeded)")
    failed = condition(job, "Failed")
    if failed is not None:
        reason = str(failed.get("reason") or "Failed")
        detail = str(failed.get("message") or "").strip()
        return JobVerdict(False, f"Job {name} failed: {reason}" + (f": {detail}" if detail else ""))
    return None


def owned_by(job: Obj, req: Request) -> bool:
    """Whether an existing Job of that name is this request's (a 409 on create adopts only those)."""
    owners = (job.get("metadata") or {}).get("ownerReferences") or []
    return any(o.get("uid") == req.uid for o in owners)
