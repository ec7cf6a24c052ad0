"""The job gate's pure decisions: the Job's name, the Job submitted, what is refused, the verdict of a Job."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from deployreq.api.job_spec import JobGate
from deployreq.api.model import Gate
from deployreq.api.request import Request
from deployreq.decide import job_gate

POD = {"restartPolicy": "Never", "containers": [{"name": "migrate", "image": "registry.example/migrate:1"}]}


def request(name: str = "web-1-4", generation: int = 1, rerun: str = "", attempt: int = 1) -> Request:
    meta = {"name": name, "namespace": "shop", "uid": "u-1", "generation": generation}
    if rerun:
        meta["annotations"] = {"deployreq.dev/rerun": rerun}
    spec = {"deployment": "web", "images": [{"container": "app", "image": "img:2"}]}
    status = {"observedGeneration": generation, "observedRerun": rerun or None, "attempt": attempt}
    return Request.parse({"metadata": meta, "spec": spec, "status": status})


def gate(**spec: Any) -> JobGate:
    return JobGate.model_validate({"spec": {"template": {"spec": POD}, **spec}})


def test_the_name_is_a_dns_label_of_the_request_gate_and_run() -> None:
    req = request()
    name = job_gate.job_name(req, "pre", "migrate")
    assert re.fullmatch(r"web-1-4-migrate-[0-9a-f]{10}", name)
    assert job_gate.job_name(request(), "pre", "migrate") == name  # a restart finds the same Job
    others = {
        job_gate.job_name(req, "post", "migrate"),
        job_gate.job_name(req, "pre", "seed"),
        job_gate.job_name(request(generation=2), "pre", "migrate"),
        job_gate.job_name(request(rerun="again"), "pre", "migrate"),
        job_gate.job_name(request(attempt=2), "pre", "migrate"),
    }
    assert name not in others and len(others) == 5


def test_a_long_dotted_request_name_still_gives_a_dns_label() -> None:
    name = job_gate.job_name(request(name="release." + "x" * 200), "pre", "m" * 63)
    assert len(name) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)
    value = job_gate.label_value("release." + "x" * 200)
    assert len(value) <= 63 and re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", value)


def test_the_job_is_the_users_spec_owned_labelled_and_given_a_ttl() -> None:
    req = request()
    extra = {"env": [{"name": "DB", "value": "x"}], "command": ["migrate"]}
    spec = {
        "template": {"spec": {**POD, "containers": [{**POD["containers"][0], **extra}]}},
        "backoffLimit": 1,
    }
    body = job_gate.job_body(req, "pre", "migrate", JobGate.model_validate({"spec": spec}))
    assert body["spec"] == {**spec, "ttlSecondsAfterFinished": 3600}  # unknown fields kept as written
    meta = body["metadata"]
    assert meta["ownerReferences"] == [
        {"apiVersion": "deployreq.dev/v1alpha1", "kind": "DeploymentRequest", "name": "web-1-4", "uid": "u-1"}
    ]
    assert meta["labels"]["deployreq.dev/request"] == "web-1-4"
    assert (
        meta["labels"]["deployreq.dev/gate"] == "migrate" and meta["labels"]["deployreq.dev/stage"] == "pre"
    )
    assert meta["labels"]["deployreq.dev/run"] == job_gate.run_key(req)
    own = job_gate.job_body(req, "pre", "migrate", gate(ttlSecondsAfterFinished=120))
    assert own["spec"]["ttlSecondsAfterFinished"] == 120


@pytest.mark.parametrize(
    "spec",
    [
        {"template": {"spec": {**POD, "restartPolicy": "Always"}}},
        {"template": {"spec": {**POD, "containers": []}}},
        {"template": {"spec": {"restartPolicy": "Never"}}},
        {"template": {"spec": POD}, "backoffLimit": -1},
        {"template": {"spec": POD}, "activeDeadlineSeconds": 0},
        {"template": {"spec": POD}, "ttlSecondsAfterFinished": 5},
        {"backoffLimit": 1},
    ],
)
def test_the_model_refuses_what_a_job_cannot_be(spec: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Gate.model_validate({"name": "m", "job": {"spec": spec}})


def test_a_gate_is_one_kind_only() -> None:
    with pytest.raises(ValidationError, match="exactly one of http, prometheus, pods, job"):
        Gate.model_validate({"name": "m", "pods": {}, "job": {"spec": {"template": {"spec": POD}}}})


def test_the_operators_own_service_account_is_refused_in_its_namespace() -> None:
    own = job_gate.service_account("system:serviceaccount:shop:deployreq")
    assert own == ("shop", "deployreq")
    assert job_gate.service_account("kubernetes-admin") is None
    named = gate(template={"spec": {**POD, "serviceAccountName": "deployreq"}})
    old_field = gate(template={"spec": {**POD, "serviceAccount": "deployreq"}})
    assert "the operator's own" in (job_gate.refusal(named, "shop", own) or "")
    assert job_gate.refusal(old_field, "shop", own) is not None
    assert job_gate.refusal(named, "other", own) is None  # another namespace's ServiceAccount of that name
    assert job_gate.refusal(gate(), "shop", own) is None  # the namespace's default ServiceAccount
    assert job_gate.refusal(gate(), "shop", ("shop", "default")) is not None
    assert job_gate.refusal(named, "shop", None) is None  # the operator runs as no ServiceAccount


def job(*conditions: tuple[str, str, str, str]) -> dict[str, Any]:
    listed = [{"type": t, "status": s, "reason": r, "message": m} for t, s, r, m in conditions]
    return {"metadata": {"name": "j"}, "status": {"conditions": listed, "succeeded": 1}}


def test_the_verdict_is_the_jobs_own_condition() -> None:
    assert job_gate.verdict(job()) is None
    assert job_gate.verdict(job(("Failed", "False", "", ""))) is None
    assert job_gate.verdict(job(("Complete", "True", "CompletionsReached", ""))) == job_gate.JobVerdict(
        True, "Job j complete (1 succeeded)"
    )
    failed = job_gate.verdict(
        job(
            ("FailureTarget", "True", "DeadlineExceeded", "x"),
            ("Failed", "True", "DeadlineExceeded", "Job was active longer than specified deadline"),
        )
    )
    assert failed == job_gate.JobVerdict(
        False, "Job j failed: DeadlineExceeded: Job was active longer than specified deadline"
    )


def test_only_the_requests_own_job_is_adopted() -> None:
    req = request()
    assert job_gate.owned_by({"metadata": {"ownerReferences": [{"uid": "u-1"}]}}, req)
    assert not job_gate.owned_by({"metadata": {"ownerReferences": [{"uid": "u-2"}]}}, req)
    assert not job_gate.owned_by({"metadata": {}}, req)
