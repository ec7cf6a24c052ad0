"""Property: the generated CRD schema (as kubesim's API server enforces it) and the pydantic model accept exactly
the same DeploymentRequest specs."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from deployreq.api import crdgen
from deployreq.api.model import DeploymentRequestSpec
from kubesim.api import errors as sim_errors
from kubesim.api.schema import admit_custom_resource

CRD = crdgen.render()

names = st.sampled_from(["web", "api-1", "a.b", "", "Web", "x" * 254, "web/other", "-web", "wéb", "ok9"])
containers = st.sampled_from(["app", "side-car", "", "App", "a" * 64, "c1"])
images = st.sampled_from(
    [
        "registry.example/web:1",
        "web",
        "web@sha256:" + "a" * 64,
        "",
        "Web:1",
        "web 1",
        "localhost:5000/team/app:v1.2",
        "web:" + "x" * 130,
    ]
)
ints = st.one_of(st.integers(min_value=-5, max_value=100_000), st.sampled_from(["10", True]))
bools = st.one_of(st.booleans(), st.sampled_from(["yes", 1]))


def image_item() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={"container": containers, "image": images})


def gate() -> st.SearchStrategy[dict[str, Any]]:
    http = st.fixed_dictionaries(
        {},
        optional={
            "url": st.sampled_from(["http://x/", "ftp://x", "https://a.b/c"]),
            "service": st.fixed_dictionaries(
                {"name": st.sampled_from(["svc", "Bad"]), "port": st.sampled_from([80, "http"])}
            ),
            "method": st.sampled_from(["GET", "POST", "DELETE"]),
            "expectedStatus": st.lists(st.sampled_from([200, 99, 503, 600]), max_size=3),
            "jsonPath": st.just("$.a"),
            "jsonValue": st.just("ok"),
            "headers": st.lists(
                st.fixed_dictionaries(
                    {"name": st.sampled_from(["X-A", "bad name"])},
                    optional={
                        "value": st.just("v"),
                        "valueFrom": st.fixed_dictionaries(
                            {
                                "secretKeyRef": st.fixed_dictionaries(
                                    {"name": st.sampled_from(["s", "other/s"]), "key": st.just("k")}
                                )
                            }
                        ),
                    },
                ),
                max_size=2,
            ),
        },
    )
    prometheus = st.fixed_dictionaries(
        {},
        optional={
            "query": st.sampled_from(["up", ""]),
            "above": st.sampled_from([0.5, 1]),
            "below": st.just(2),
            "emptyResult": st.sampled_from(["Fail", "Pass", "Maybe"]),
        },
    )
    pods = st.fixed_dictionaries({}, optional={"maxRestarts": st.sampled_from([0, 3, -1, 5000])})
    return st.fixed_dictionaries(
        {},
        optional={
            "name": st.sampled_from(["g", "g2", "Bad Name"]),
            "intervalSeconds": st.sampled_from([1, 0, 10]),
            "failureThreshold": st.sampled_from([1, 0, 200]),
            "http": http,
            "prometheus": prometheus,
            "pods": pods,
        },
    )


GOOD_IMAGE = {"container": "app", "image": "registry.example/web:1"}


def mostly(good: Any, other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Half the draws valid, so that both acceptance and refusal are exercised."""
    return st.one_of(st.just(good), other)


specs = st.fixed_dictionaries(
    {
        "deployment": mostly("web", names),
        "images": mostly([GOOD_IMAGE], st.lists(mostly(GOOD_IMAGE, image_item()), max_size=3)),
    },
    optional={
        "priority": mostly("high", st.sampled_from(["low", "normal", "urgent", "top", 1])),
        "rollout": mostly({}, st.fixed_dictionaries({}, optional={"timeoutSeconds": ints})),
        "rollback": mostly({"enabled": False}, st.fixed_dictionaries({}, optional={"enabled": bools})),
        "retry": mostly({}, st.fixed_dictionaries({}, optional={"attempts": ints, "backoffSeconds": ints})),
        "verification": mostly({}, st.fixed_dictionaries({}, optional={"durationSeconds": ints})),
        "gates": mostly(
            {},
            st.fixed_dictionaries(
                {},
                optional={
                    "pre": st.lists(gate(), max_size=2),
                    "post": st.lists(gate(), max_size=1),
                    "skip": bools,
                },
            ),
        ),
    },
)


def workload() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "kind": st.sampled_from(["Deployment", "StatefulSet", "DaemonSet", "Job"]),
            "name": st.sampled_from(["api", "worker", "Bad"]),
            "images": mostly([GOOD_IMAGE], st.lists(mostly(GOOD_IMAGE, image_item()), max_size=2)),
        },
    )


forms = st.fixed_dictionaries(
    {},
    optional={
        "deployment": mostly("web", names),
        "images": mostly([GOOD_IMAGE], st.lists(image_item(), max_size=2)),
        "workloads": st.one_of(
            st.lists(workload(), max_size=3),
            st.just([{"name": f"w{i}", "images": [GOOD_IMAGE]} for i in range(11)]),
        ),
    },
)
"""The two forms of what to change: deployment with images, or workloads (both, neither, duplicates drawn too)."""


def server_accepts(spec: dict[str, Any]) -> bool:
    obj = {
        "apiVersion": "deployreq.dev/v1alpha1",
        "kind": "DeploymentRequest",
        "metadata": {"name": "p"},
        "spec": json.loads(json.dumps(spec)),
    }
    try:
        admit_custom_resource(CRD, obj, None, None)
    except sim_errors.ApiError:
        return False
    return True


def model_accepts(spec: dict[str, Any]) -> bool:
    try:
        DeploymentRequestSpec.model_validate_json(json.dumps(spec), strict=True)
    except ValidationError:
        return False
    return True


# cel-python raises the recursion limit the first time it compiles a rule; do that before hypothesis watches.
server_accepts(
    {
        "deployment": "web",
        "images": [{"container": "app", "image": "web:1"}],
        "gates": {"pre": [{"name": "g", "pods": {}, "http": {"url": "http://x/"}}]},
    }
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs)
def test_the_crd_schema_and_the_model_accept_the_same_specs(spec: dict[str, Any]) -> None:
    assert server_accepts(spec) == model_accepts(spec), spec


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(forms)
def test_the_crd_schema_and_the_model_agree_on_the_two_forms(spec: dict[str, Any]) -> None:
    assert server_accepts(spec) == model_accepts(spec), spec


def test_both_forms_or_neither_or_a_workload_twice_are_refused_by_both() -> None:
    workload = {"kind": "StatefulSet", "name": "worker", "images": [GOOD_IMAGE]}
    for spec in (
        {},
        {"deployment": "web", "images": [GOOD_IMAGE], "workloads": [workload]},
        {"deployment": "web"},
        {"workloads": [workload, workload]},
        {
            "workloads": [
                {"name": "api", "images": [GOOD_IMAGE]},
                {**workload, "kind": "Deployment", "name": "api"},
            ]
        },
    ):
        assert not server_accepts(spec) and not model_accepts(spec), spec
    spec = {"workloads": [{"name": "api", "images": [GOOD_IMAGE]}, workload]}
    assert server_accepts(spec) and model_accepts(spec)


def test_a_good_spec_is_accepted_by_both() -> None:
    spec = {"deployment": "web", "images": [{"container": "app", "image": "registry.example/web:1"}]}
    assert server_accepts(spec) and model_accepts(spec)
