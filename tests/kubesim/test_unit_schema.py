"""Custom resource admission: defaulting, pruning and validation messages as the real apiserver words them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubesim.api.crd_validation import validate_crd
from kubesim.api.errors import ApiError
from kubesim.api.schema import admit_custom_resource

SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["deployment", "images"],
    "properties": {
        "deployment": {"type": "string", "maxLength": 253, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "images": {
            "type": "array",
            "minItems": 1,
            "maxItems": 3,
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["container"],
            "items": {
                "type": "object",
                "required": ["container", "image"],
                "properties": {"container": {"type": "string"}, "image": {"type": "string", "minLength": 1}},
            },
        },
        "priority": {"type": "string", "enum": ["low", "normal", "high", "urgent"], "default": "normal"},
        "rollout": {
            "type": "object",
            "default": {},
            "properties": {
                "timeoutSeconds": {"type": "integer", "format": "int32", "minimum": 10, "default": 600},
                "surge": {"x-kubernetes-int-or-string": True},
            },
        },
        "labels": {"type": "object", "additionalProperties": {"type": "string"}, "minProperties": 1},
        "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "notBefore": {"type": "string", "format": "date-time"},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "ratio": {"type": "number", "maximum": 1, "exclusiveMaximum": True},
        "generation": {
            "type": "integer",
            "x-kubernetes-validations": [
                {"rule": "self >= oldSelf", "message": "generation may not decrease"},
            ],
        },
    },
    "x-kubernetes-validations": [
        {
            "rule": "!has(self.tags) || size(self.tags) <= size(self.images)",
            "messageExpression": "'at most ' + string(size(self.images)) + ' tags'",
            "fieldPath": ".tags",
        }
    ],
}

CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "deploymentrequests.deployreq.dev"},
    "spec": {
        "group": "deployreq.dev",
        "scope": "Namespaced",
        "names": {
            "plural": "deploymentrequests",
            "singular": "deploymentrequest",
            "kind": "DeploymentRequest",
            "listKind": "DeploymentRequestList",
        },
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "apiVersion": {"type": "string"},
                            "kind": {"type": "string"},
                            "metadata": {"type": "object"},
                            "spec": SPEC_SCHEMA,
                            "status": {
                                "type": "object",
                                "properties": {"phase": {"type": "string", "enum": ["Pending", "Done"]}},
                            },
                        },
                    }
                },
            }
        ],
    },
}


# kube-apiserver v1.36: schema errors of these kinds leave CEL rules unchecked, and say so (make fidelity)
BLOCKING = {
    "FieldValueNotSupported",
    "FieldValueRequired",
    "FieldValueTooLong",
    "FieldValueTooMany",
    "FieldValueTypeInvalid",
}
CEL_SKIPPED = (
    "Invalid value: null: some validation rules were not checked because the object was invalid; correct the "
    "existing errors to complete validation"
)


def _request(**spec: Any) -> dict[str, Any]:
    base = {"deployment": "web", "images": [{"container": "app", "image": "app:2"}]}
    return {
        "apiVersion": "deployreq.dev/v1alpha1",
        "kind": "DeploymentRequest",
        "metadata": {"name": "x", "namespace": "prod"},
        "spec": {**base, **spec},
    }


def _reject(
    obj: dict[str, Any], old: dict[str, Any] | None = None, subresource: str | None = None
) -> ApiError:
    with pytest.raises(ApiError) as info:
        admit_custom_resource(CRD, obj, old, subresource)
    assert (info.value.code, info.value.reason) == (422, "Invalid")
    assert info.value.kind == "DeploymentRequest"
    return info.value


def test_defaults_are_applied_and_unknown_fields_pruned() -> None:
    obj = _request(unknown=1, rollout={"extra": True}, free={"anything": {"goes": 1}})
    obj["extraTop"] = "x"
    admit_custom_resource(CRD, obj, None, None)
    assert obj["spec"]["priority"] == "normal"
    assert obj["spec"]["rollout"] == {"timeoutSeconds": 600}
    assert obj["spec"]["free"] == {"anything": {"goes": 1}}
    assert "unknown" not in obj["spec"]
    assert "extraTop" not in obj


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"images": None}, None),
        (
            {"priority": "top"},
            'spec.priority: Unsupported value: "top": supported values: "low", "normal", "high", "urgent"',
        ),
        (
            {"rollout": {"timeoutSeconds": 5}},
            "spec.rollout.timeoutSeconds: Invalid value: 5: spec.rollout.timeoutSeconds in body should be greater "
            "than or equal to 10",
        ),
        (
            {"deployment": "A_B"},
            'spec.deployment: Invalid value: "A_B": spec.deployment in body should match '
            "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'",
        ),
        ({"deployment": "a" * 254}, "spec.deployment: Too long: may not be more than 253 bytes"),
        (
            {"rollout": {"timeoutSeconds": "5"}},
            'spec.rollout.timeoutSeconds: Invalid value: "string": spec.rollout.timeoutSeconds in body must be of '
            'type integer: "string"',
        ),
        (
            {"rollout": {"timeoutSeconds": 2**31}},
            "spec.rollout.timeoutSeconds: Invalid value: 2147483648: spec.rollout.timeoutSeconds in body must be "
            'of type int32: "2147483648"',
        ),
        (
            {"images": [{"container": "app", "image": "a"}, {"container": "app", "image": "b"}]},
            'spec.images[1]: Duplicate value: {"container":"app"}',
        ),
        ({"images": [{"container": "app"}]}, "spec.images[0].image: Required value"),
        ({"images": []}, "spec.images: Invalid value: 0: spec.images in body should have at least 1 items"),
        (
            {"images": [{"container": str(i), "image": "i"} for i in range(4)]},
            "spec.images: Too many: 4: must have at most 3 items",
        ),
        (
            {
                "tags": ["a", "a"],
                "images": [{"container": "a", "image": "a"}, {"container": "b", "image": "b"}],
            },
            'spec.tags[1]: Duplicate value: "a"',
        ),
        (
            {"rollout": {"surge": True}},
            'spec.rollout.surge: Invalid value: "boolean": spec.rollout.surge in body must be of type '
            'integer,string: "boolean"',
        ),
        (
            {"notBefore": "yesterday"},
            'spec.notBefore: Invalid value: "yesterday": spec.notBefore in body must be of type date-time: '
            '"yesterday"',
        ),
        ({"ratio": 1}, "spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1"),
        (
            {"labels": {}},
            'spec.labels: Invalid value: "object": spec.labels in body should have at least 1 properties',
        ),
        ({"tags": ["a", "b"]}, "spec.tags: Invalid value: at most 1 tags"),  # v1.36 shows no value
    ],
)
def test_validation_messages(spec: dict[str, Any], message: str | None) -> None:
    obj = _request(**spec)
    if message is None:
        del obj["spec"]["images"]
        message = "spec.images: Required value"
    error = _reject(obj)
    if error.causes[0].reason in BLOCKING:  # the CRD has CEL rules, which such an error leaves unchecked
        assert error.causes[-1].field == "<nil>"
        message = f"[{message}, <nil>: {CEL_SKIPPED}]"
    assert error.message == f'DeploymentRequest.deployreq.dev "x" is invalid: {message}'
    assert error.causes[0].field == message.lstrip("[").split(":", 1)[0]


def test_several_errors_are_listed_in_one_message() -> None:
    obj = _request(priority="top")
    del obj["spec"]["deployment"]
    error = _reject(obj)
    assert error.message == (
        'DeploymentRequest.deployreq.dev "x" is invalid: [spec.deployment: Required value, '
        'spec.priority: Unsupported value: "top": supported values: "low", "normal", "high", "urgent", '
        f"<nil>: {CEL_SKIPPED}]"
    )
    assert [c.reason for c in error.causes] == [
        "FieldValueRequired",
        "FieldValueNotSupported",
        "FieldValueInvalid",
    ]


def test_transition_rules_see_old_self() -> None:
    admit_custom_resource(CRD, _request(generation=2), None, None)
    admit_custom_resource(CRD, _request(generation=3), _request(generation=2), None)
    error = _reject(_request(generation=1), _request(generation=2))
    assert error.message.endswith(
        "spec.generation: Invalid value: 1: generation may not decrease"
    )  # scalars shown


def test_status_writes_validate_only_status_and_main_writes_leave_status() -> None:
    obj = _request(priority="top")
    obj["status"] = {"phase": "Done", "junk": 1}
    admit_custom_resource(CRD, obj, None, "status")
    assert obj["status"] == {"phase": "Done"}
    main = _request()
    main["status"] = {"phase": "Bogus"}
    admit_custom_resource(CRD, main, None, None)
    assert main["status"] == {"phase": "Bogus"}
    bad = _request()
    bad["status"] = {"phase": "Bogus"}
    error = _reject(bad, None, "status")
    assert "status.phase: Unsupported value" in error.message


def test_crd_needs_exactly_one_storage_version() -> None:
    crd = copy.deepcopy(CRD)
    crd["spec"]["versions"].append({**crd["spec"]["versions"][0], "name": "v1"})
    with pytest.raises(ApiError) as info:
        validate_crd(crd)
    assert info.value.code == 422
    assert "must have exactly one version marked as storage version" in info.value.message
    validate_crd(CRD)


def test_crd_name_must_be_plural_dot_group() -> None:
    crd = copy.deepcopy(CRD)
    crd["metadata"]["name"] = "requests.deployreq.dev"
    with pytest.raises(ApiError) as info:
        validate_crd(crd)
    assert info.value.message == (
        'CustomResourceDefinition.apiextensions.k8s.io "requests.deployreq.dev" is invalid: metadata.name: '
        'Invalid value: "requests.deployreq.dev": must be spec.names.plural+"."+spec.group'
    )


def test_the_projects_crd_is_valid() -> None:
    import pathlib

    import yaml

    crd = yaml.safe_load(pathlib.Path("crds/deploymentrequests.deployreq.dev.yaml").read_text())
    validate_crd(crd)


def test_structural_schema_needs_types() -> None:
    crd = copy.deepcopy(CRD)
    root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    del root["type"]
    root["properties"]["spec"]["properties"]["tags"]["items"] = {}
    root["properties"]["spec"]["properties"]["loose"] = {"description": "no type"}
    with pytest.raises(ApiError) as info:
        validate_crd(crd)
    base = "spec.versions[0].schema.openAPIV3Schema"
    assert [(c.field, c.message) for c in info.value.causes] == [
        (f"{base}.type", "Required value: must not be empty at the root"),
        (
            f"{base}.properties[spec].properties[tags].items.type",
            "Required value: must not be empty for specified array items",
        ),
        (
            f"{base}.properties[spec].properties[loose].type",
            "Required value: must not be empty for specified object fields",
        ),
    ]


def test_printer_columns_are_checked() -> None:
    crd = copy.deepcopy(CRD)
    crd["spec"]["versions"][0]["additionalPrinterColumns"] = [
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Odd", "type": "map", "jsonPath": "status phase"},
    ]
    with pytest.raises(ApiError) as info:
        validate_crd(crd)
    col = "spec.versions[0].additionalPrinterColumns[1]"
    assert [c.field for c in info.value.causes] == [f"{col}.type", f"{col}.jsonPath"]
    assert info.value.causes[0].message.startswith('Unsupported value: "map": supported values: "integer"')


def test_rule_reason_sets_the_error_type() -> None:
    crd = copy.deepcopy(CRD)
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["x-kubernetes-validations"] = [
        {
            "rule": "self.deployment != 'kube-dns'",
            "message": "may not touch kube-dns",
            "reason": "FieldValueForbidden",
        },
        {"rule": "has(self.priority) && self.priority != 'urgent'"},
    ]
    obj = _request(deployment="kube-dns", priority="urgent")
    with pytest.raises(ApiError) as info:
        admit_custom_resource(crd, obj, None, None)
    assert [(c.field, c.message, c.reason) for c in info.value.causes] == [
        ("spec", "Forbidden: may not touch kube-dns", "FieldValueForbidden"),
        (
            "spec",
            "Invalid value: failed rule: has(self.priority) && self.priority != 'urgent'",
            "FieldValueInvalid",
        ),
    ]


def test_crd_scope_and_plural_are_checked() -> None:
    crd = copy.deepcopy(CRD)
    crd["spec"]["scope"] = "Global"
    crd["spec"]["names"]["plural"] = "DeploymentRequests"
    crd["metadata"]["name"] = "DeploymentRequests.deployreq.dev"
    with pytest.raises(ApiError) as info:
        validate_crd(crd)
    assert [c.field for c in info.value.causes] == ["spec.names.plural", "spec.scope"]
    assert (
        info.value.causes[1].message
        == 'Unsupported value: "Global": supported values: "Cluster", "Namespaced"'
    )
    assert info.value.causes[0].message.startswith(
        'Invalid value: "DeploymentRequests": a lowercase RFC 1123 label'
    )


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("uuid", "123e4567-e89b-12d3-a456-426614174000", "not-a-uuid"),
        ("ipv4", "10.0.0.1", "10.0.0.300"),
        ("ipv6", "fe80::1", "10.0.0.1"),
        ("cidr", "10.0.0.0/8", "10.0.0.0"),
        ("byte", "aGVsbG8=", "not base64!"),
    ],
)
def test_string_formats(fmt: str, good: str, bad: str) -> None:
    crd = copy.deepcopy(CRD)
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"]["value"] = {"type": "string", "format": fmt}
    admit_custom_resource(crd, _request(value=good), None, None)
    with pytest.raises(ApiError) as info:
        admit_custom_resource(crd, _request(value=bad), None, None)
    assert info.value.causes[0].message == (
        f'Invalid value: "{bad}": spec.value in body must be of type {fmt}: "{bad}"'
    )
