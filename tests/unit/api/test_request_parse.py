"""The parsing edge: a request body into the typed request, never raising, whatever the body holds."""

from __future__ import annotations

from typing import Any

from deployreq.api.model import Gate
from deployreq.api.phases import Phase
from deployreq.api.request import Request

SPEC: dict[str, Any] = {"deployment": "web", "images": [{"container": "app", "image": "img:2"}]}


def body(spec: Any = None, status: Any = None, **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "r", "namespace": "ns", "uid": "u", "resourceVersion": "7", **meta},
        "spec": SPEC if spec is None else spec,
        "status": status or {},
    }


def test_a_request_is_typed_with_the_models_defaults() -> None:
    req = Request.parse(body(annotations={"deployreq.dev/rerun": "x"}, finalizers=["f"]))
    assert (req.namespace, req.name, req.uid, req.resource_version, req.generation) == (
        "ns",
        "r",
        "u",
        "7",
        1,
    )
    assert req.rerun == "x" and req.finalizers == ("f",) and not req.deleting
    assert req.spec.rollout.timeout_seconds == 600 and req.spec.retry.attempts == 3
    assert req.phase == Phase.PENDING and req.problem is None
    assert req.spec_images == req.run_images == {"app": "img:2"}


def test_a_gate_the_model_refuses_stays_as_written_for_the_gate_registry_to_name() -> None:
    big = {"name": "big", "http": {"url": "http://x/", "method": "POST", "body": {"x": "y" * 17000}}}
    good = {"name": "ok", "pods": {}}
    req = Request.parse(body({**SPEC, "gates": {"pre": [big], "post": [good]}}))
    assert req.problem is None
    assert [stage for stage, _ in req.gate_specs] == ["pre", "post"]
    assert req.gates_of("pre") == [big]  # as written: validate_gates says "body is larger than 16 KiB"
    assert isinstance(req.gates_of("post")[0], Gate)
    assert req.spec.gates.pre == [] and [g.name for g in req.spec.gates.post] == ["ok"]
    assert req.has_gates("pre")  # still counts: the run starts Checking and fails InvalidGates there


def test_a_spec_the_model_refuses_as_a_whole_is_a_problem_not_a_crash() -> None:
    for spec in ({"deployment": "web"}, {"deployment": "web", "images": "app"}, "nonsense", {}):
        req = Request.parse(body(spec))
        assert req.problem is not None and req.problem.startswith("spec")
        assert req.spec.images == []
    assert Request.parse(body({"deployment": "web"})).deployment == "web"


def test_a_status_field_the_model_cannot_read_counts_as_unset() -> None:
    req = Request.parse(body(status={"phase": "Exploded", "attempt": 2, "queuePosition": "first"}))
    assert req.phase == Phase.PENDING
    assert req.status.attempt == 2 and req.status.queue_position is None
    assert Request.parse(body(status="garbage")).phase == Phase.PENDING


def test_a_gate_of_an_unknown_kind_stays_as_written_even_beside_a_known_one() -> None:
    odd = {"name": "odd", "grpc": {"port": 1}, "pods": {}}
    req = Request.parse(body({**SPEC, "gates": {"pre": [odd]}}))
    assert req.gates_of("pre") == [odd]  # the registry says "unknown gate kind 'grpc'"


def test_a_finished_request_is_read_for_the_queue_without_parsing_its_whole_status() -> None:
    req = Request.parse(body(status={"phase": "Succeeded", "observedGeneration": 1, "history": []}))
    assert req.phase == Phase.SUCCEEDED and req.summary.observed_generation == 1
    assert "status" not in vars(req)  # parsed on first use only
    assert req.status.history == []


def test_which_deployment_is_read_without_parsing_the_spec() -> None:
    req = Request.parse(body())
    assert req.deployment == "web"
    assert "_spec" not in vars(req)  # the spec is parsed on first use only
