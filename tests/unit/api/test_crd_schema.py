"""Samples checked against the generated CRD: jsonschema for the OpenAPI part, cel-python for the CEL rules."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import pytest
import yaml

from deployreq.api import crdgen, model

ROOT = Path(__file__).resolve().parents[3]
Obj = dict[str, Any]


def crd() -> Obj:
    loaded: Obj = yaml.safe_load((ROOT / "crds" / crdgen.FILE_NAME).read_text())
    return loaded


def schema() -> Obj:
    version: Obj = crd()["spec"]["versions"][0]
    return dict(version["schema"]["openAPIV3Schema"])


def openapi_errors(obj: Obj) -> list[str]:
    """jsonschema agrees with the API server on types, required, enums, patterns and bounds (not CEL, list maps)."""
    validator = jsonschema.Draft7Validator(schema())
    return sorted(e.message for e in validator.iter_errors(obj))


def sample(**spec: Any) -> Obj:
    base: Obj = {
        "deployment": "web",
        "images": [{"container": "app", "image": "registry.example:5000/team/web:1.2"}],
    }
    return {"apiVersion": "deployreq.dev/v1alpha1", "kind": "DeploymentRequest", "spec": base | spec}


def gate(**members: Any) -> Obj:
    return {"name": "smoke"} | members


def test_names_and_printer_columns() -> None:
    spec = crd()["spec"]
    assert crd()["metadata"]["name"] == "deploymentrequests.deployreq.dev"
    assert spec["names"]["shortNames"] == ["deployreq", "dreq"]
    assert spec["names"]["singular"] == "deploymentrequest"
    assert spec["scope"] == "Namespaced"
    version = spec["versions"][0]
    assert version["subresources"] == {"status": {}}
    columns = {c["name"]: c for c in version["additionalPrinterColumns"]}
    assert list(columns) == [
        "Deployment",
        "Image",
        "Target",
        "Priority",
        "Phase",
        "Position",
        "Age",
        "Held-By",
        "Message",
    ]
    assert columns["Position"]["type"] == "integer" and columns["Age"]["type"] == "date"
    assert columns["Message"]["priority"] == 1 and columns["Held-By"]["priority"] == 1


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param(sample(), id="minimal"),
        pytest.param(
            sample(
                images=[
                    {"container": "app", "image": "web@sha256:" + "a" * 64},
                    {"container": "side", "image": "s"},
                ],
                priority="urgent",
                rollout={"timeoutSeconds": 30},
                gates={
                    "pre": [gate(http={"url": "https://web.example/healthz", "expectedStatus": [200, 204]})],
                    "post": [
                        gate(prometheus={"query": "up", "below": 0.01, "emptyResult": "Inconclusive"}),
                        {"name": "pods", "pods": {"maxRestarts": 1}},
                        gate(
                            http={
                                "service": {"name": "web", "port": "http"},
                                "jsonPath": "$.ok",
                                "jsonValue": "1",
                            }
                        ),
                    ],
                },
            ),
            id="full",
        ),
    ],
)
def test_valid_requests_are_accepted(obj: Obj) -> None:
    assert openapi_errors(obj) == []


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        pytest.param(sample(deployment="other/web"), "does not match", id="deployment with a namespace"),
        pytest.param(sample(deployment="x" * 254), "is too long", id="deployment too long"),
        pytest.param(sample(images=[]), "should be non-empty", id="no images"),
        pytest.param(
            sample(images=[{"container": "App", "image": "a"}]), "does not match", id="container not a label"
        ),
        pytest.param(
            sample(images=[{"container": "a", "image": "Web:1"}]), "does not match", id="upper-case image"
        ),
        pytest.param(sample(images=[{"container": "a", "image": "web:"}]), "does not match", id="empty tag"),
        pytest.param(sample(priority="asap"), "is not one of", id="unknown priority"),
        pytest.param(sample(rollout={"timeoutSeconds": 5}), "less than the minimum", id="timeout below 10"),
        pytest.param(sample(retry={"attempts": 21}), "greater than the maximum", id="too many retries"),
        pytest.param(
            sample(gates={"pre": [gate(http={"url": "ftp://x"})]}), "does not match", id="gate url not http"
        ),
        pytest.param(
            sample(gates={"pre": [gate(http={"url": "http://x", "expectedStatus": [99]})]}),
            "less than the minimum",
            id="status code below 100",
        ),
        pytest.param(
            sample(gates={"pre": [gate(prometheus={"query": "up", "above": 1, "emptyResult": "Maybe"})]}),
            "is not one of",
            id="unknown emptyResult",
        ),
        pytest.param(sample(gates={"pre": [gate(pods={})] * 17}), "is too long", id="more than 16 gates"),
    ],
)
def test_invalid_requests_are_refused(obj: Obj, fragment: str) -> None:
    errors = openapi_errors(obj)
    assert any(fragment in e for e in errors), errors


def rules_at(path: list[str]) -> list[Obj]:
    node = schema()
    for step in path:
        node = node["items"] if step == "[]" else node["properties"][step]
    return list(node.get("x-kubernetes-validations") or [])


def cel_failures(path: list[str], value: Obj) -> list[str]:
    """The messages of the CEL rules at ``path`` that ``value`` breaks, evaluated as the API server would."""
    env = celpy.Environment()
    failed = []
    for rule in rules_at(path):
        program = env.program(env.compile(rule["rule"]))
        if not bool(program.evaluate({"self": celpy.json_to_cel(value)})):  # type: ignore[attr-defined]
            failed.append(str(rule["message"]))
    return failed


GATE = ["spec", "gates", "pre", "[]"]
HTTP = [*GATE, "http"]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        pytest.param(GATE, gate(pods={}), [], id="one member"),
        pytest.param(
            GATE, gate(), ["exactly one of http, prometheus, pods, job must be set"], id="no member"
        ),
        pytest.param(
            GATE,
            gate(pods={}, prometheus={"query": "up", "above": 1}),
            ["exactly one of http, prometheus, pods, job must be set"],
            id="two members",
        ),
        pytest.param(HTTP, {"url": "http://x"}, [], id="url only"),
        pytest.param(
            HTTP,
            {"url": "http://x", "service": {"name": "web", "port": 80}},
            ["an http gate needs exactly one of url or service"],
            id="url and service",
        ),
        pytest.param(
            HTTP, {"url": "http://x", "jsonPath": "$.a"}, ["jsonPath and jsonValue go together"], id="jp"
        ),
        pytest.param(
            [*HTTP, "headers", "[]"],
            {"name": "X-Token"},
            ["a header needs exactly one of value or valueFrom"],
            id="header without value",
        ),
        pytest.param(
            [*HTTP, "headers", "[]"],
            {"name": "X-Token", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            [],
            id="header from a secret",
        ),
        pytest.param(
            [*GATE, "prometheus"], {"query": "up"}, ["a prometheus gate needs above or below"], id="no bound"
        ),
        pytest.param([*GATE, "prometheus"], {"query": "up", "below": 1}, [], id="below only"),
    ],
)
def test_cel_rules(path: list[str], value: Obj, expected: list[str]) -> None:
    assert cel_failures(path, value) == expected


PORTS = [
    (80, True),
    (65535, True),
    ("http", True),
    ("grpc-web", True),
    ("h2c", True),
    ("1-a", True),
    (0, False),
    (65536, False),
    (-1, False),
    ("8080", False),
    ("-http", False),
    ("http-", False),
    ("a--b", False),
    ("HTTP", False),
    ("a-very-long-port-name", False),
]


@pytest.mark.parametrize(("port", "ok"), PORTS, ids=[repr(p) for p, _ in PORTS])
def test_the_schema_bounds_a_service_port_as_a_number_or_a_name(port: int | str, ok: bool) -> None:
    """Plain bounds, no CEL: kube-apiserver refused a CEL rule on this int-or-string for its estimated cost."""
    errors = openapi_errors(sample(gates={"pre": [gate(http={"service": {"name": "web", "port": port}})]}))
    assert (errors == []) is ok, errors
    assert rules_at([*HTTP, "service"]) == []


def test_list_maps_are_keyed_so_the_server_refuses_duplicates() -> None:
    spec = schema()["properties"]["spec"]["properties"]
    assert spec["images"]["x-kubernetes-list-type"] == "map"
    assert spec["images"]["x-kubernetes-list-map-keys"] == ["container"]
    for stage in ("pre", "post"):
        assert spec["gates"]["properties"][stage]["x-kubernetes-list-map-keys"] == ["name"]


def test_defaults_are_in_the_schema_as_the_model_has_them() -> None:
    spec = schema()["properties"]["spec"]["properties"]
    assert spec["priority"]["default"] == "normal"
    assert spec["rollout"]["properties"]["timeoutSeconds"]["default"] == 600
    assert spec["rollback"]["properties"]["enabled"]["default"] is True
    assert spec["retry"]["properties"]["attempts"]["default"] == 3
    gate_schema = spec["gates"]["properties"]["pre"]["items"]["properties"]
    assert gate_schema["failureThreshold"]["default"] == 3
    assert gate_schema["http"]["properties"]["expectedStatus"]["default"] == [200]
    # The model agrees: a minimal request validates with the same defaults.
    parsed = model.DeploymentRequest.model_validate(copy.deepcopy(sample()))
    assert parsed.spec.rollout.timeout_seconds == 600 and parsed.spec.priority == "normal"


def test_status_is_all_optional_and_history_bounded() -> None:
    status = schema()["properties"]["status"]
    assert "required" not in status
    assert status["properties"]["history"]["maxItems"] == model.HISTORY_LIMIT
    assert status["properties"]["phase"]["enum"][0] == "Pending"


def test_every_field_of_the_crd_has_a_description_for_kubectl_explain() -> None:
    crd = yaml.safe_load((ROOT / "crds" / "deploymentrequests.deployreq.dev.yaml").read_text())
    missing: list[str] = []

    def walk(node: dict[str, Any], path: str) -> None:
        for name, prop in (node.get("properties") or {}).items():
            # The API server refuses a description on the root metadata (only name and generateName may be
            # specified there); kubectl explain shows ObjectMeta's own documentation for it.
            if not prop.get("description") and f"{path}.{name}" != ".metadata":
                missing.append(f"{path}.{name}")
            walk(prop, f"{path}.{name}")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]")

    walk(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"], "")
    assert missing == []


@pytest.mark.parametrize("port", [0, 65536, "8080", "a--b", "HTTP", "x" * 16])
def test_the_model_refuses_the_ports_the_schema_refuses(port: int | str) -> None:
    with pytest.raises(ValueError, match="port must be a number from 1 to 65535 or a port name"):
        model.ServiceRef(name="web", port=port)


def test_an_http_body_over_16_kib_is_refused_with_its_limit() -> None:
    model.HttpGate(url="http://x", method="POST", body={"a": "x" * 16000})
    with pytest.raises(ValueError, match="body is larger than 16 KiB once encoded as JSON"):
        model.HttpGate(url="http://x", method="POST", body={"a": "x" * 17000})
