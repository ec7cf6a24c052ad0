"""A corpus of bad DeploymentRequests: each is refused by the API server with a clear message, or ends Failed with
one; the operator never crashes and no Deployment changes."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from kubernetes.client import ApiException

from tests.system.harness import Namespace, OperatorProcess

pytestmark = pytest.mark.system
OPERATOR_ARGS = ("--gate-allow-cidr", "127.0.0.0/8")

GOOD_SPEC: dict[str, Any] = {
    "deployment": "web",
    "images": [{"container": "app", "image": "registry.example/web:2"}],
}


def spec(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(GOOD_SPEC)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def gate(**member: Any) -> dict[str, Any]:
    return {"pre": [{"name": "g", **member}]}


IMG = [{"container": "app", "image": "registry.example/web:2"}]
# (id, spec, what the refusal or the failure message must contain)
REFUSED: list[tuple[str, Any, str]] = [
    ("no-spec", None, "spec: Required value"),
    ("no-deployment", spec(deployment=None), "spec.deployment and spec.images go together"),
    ("no-images", spec(images=None), "spec.deployment and spec.images go together"),
    ("neither-form", {"priority": "high"}, "give exactly one of spec.workloads or spec.deployment"),
    (
        "both-forms",
        spec(workloads=[{"name": "web", "images": IMG}]),
        "give exactly one of spec.workloads or spec.deployment",
    ),
    ("workloads-empty", {"workloads": []}, "should have at least 1 items"),
    (
        "workloads-eleven",
        {"workloads": [{"name": f"w{i}", "images": IMG} for i in range(11)]},
        "must have at most 10 items",
    ),
    (
        "workload-twice",
        {"workloads": [{"name": "web", "images": IMG}, {"kind": "Deployment", "name": "web", "images": IMG}]},
        "Duplicate value",
    ),
    ("workload-kind-job", {"workloads": [{"kind": "Job", "name": "m", "images": IMG}]}, "Unsupported value"),
    ("workload-no-images", {"workloads": [{"name": "web"}]}, "images: Required value"),
    ("empty-images", spec(images=[]), "should have at least 1 items"),
    ("deployment-int", spec(deployment=5), "must be of type string"),
    ("deployment-uppercase", spec(deployment="Web"), "spec.deployment"),
    ("deployment-other-namespace", spec(deployment="other/web"), "spec.deployment"),
    ("deployment-dotdot", spec(deployment="../web"), "spec.deployment"),
    ("deployment-too-long", spec(deployment="a" * 300), "spec.deployment"),
    ("deployment-empty", spec(deployment=""), "spec.deployment"),
    ("deployment-unicode", spec(deployment="wéb"), "spec.deployment"),
    ("deployment-rtl-override", spec(deployment="web\u202e"), "spec.deployment"),
    ("images-not-list", spec(images={"container": "app"}), "must be of type array"),
    (
        "image-missing-container",
        spec(images=[{"image": "registry.example/web:2"}]),
        "container: Required value",
    ),
    ("image-missing-image", spec(images=[{"container": "app"}]), "image: Required value"),
    ("image-empty", spec(images=[{"container": "app", "image": ""}]), "image"),
    ("image-spaces", spec(images=[{"container": "app", "image": "web 2"}]), "image"),
    ("image-uppercase-repo", spec(images=[{"container": "app", "image": "Registry/WEB:2"}]), "image"),
    ("image-bad-digest", spec(images=[{"container": "app", "image": "web@sha256:xyz"}]), "image"),
    ("image-too-long", spec(images=[{"container": "app", "image": "a" * 600}]), "image"),
    ("image-shell", spec(images=[{"container": "app", "image": "web:2;rm -rf /"}]), "image"),
    ("container-uppercase", spec(images=[{"container": "App", "image": "web:2"}]), "container"),
    ("container-too-long", spec(images=[{"container": "a" * 70, "image": "web:2"}]), "container"),
    ("duplicate-containers", spec(images=IMG + IMG), "Duplicate value"),
    (
        "too-many-images",
        spec(images=[{"container": f"c{i}", "image": "web:2"} for i in range(40)]),
        "at most 32",
    ),
    ("priority-unknown", spec(priority="top"), 'Unsupported value: "top"'),
    ("priority-int", spec(priority=1), "spec.priority"),
    ("timeout-too-small", spec(rollout={"timeoutSeconds": 1}), "greater than or equal to 10"),
    ("timeout-too-big", spec(rollout={"timeoutSeconds": 10**9}), "less than or equal to 86400"),
    ("timeout-string", spec(rollout={"timeoutSeconds": "ten"}), "must be of type integer"),
    ("timeout-float", spec(rollout={"timeoutSeconds": 10.5}), "timeoutSeconds"),
    ("rollback-not-bool", spec(rollback={"enabled": "yes"}), "must be of type boolean"),
    ("retry-negative", spec(retry={"attempts": -1}), "greater than or equal to 0"),
    ("retry-too-many", spec(retry={"attempts": 1000}), "less than or equal to 20"),
    ("backoff-zero", spec(retry={"backoffSeconds": 0}), "greater than or equal to 1"),
    ("verification-negative", spec(verification={"durationSeconds": -5}), "greater than or equal to 0"),
    (
        "gate-unknown-kind",
        spec(gates=gate(grpc={"target": "x"})),
        "exactly one of http, prometheus, pods, job",
    ),
    (
        "gate-two-kinds",
        spec(gates=gate(http={"url": "http://a"}, pods={})),
        "exactly one of http, prometheus, pods, job",
    ),
    ("gate-no-name", spec(gates={"pre": [{"pods": {}}]}), "name: Required value"),
    ("gate-bad-name", spec(gates={"pre": [{"name": "Bad Name", "pods": {}}]}), "name"),
    (
        "gate-duplicate-names",
        spec(gates={"pre": [{"name": "g", "pods": {}}, {"name": "g", "pods": {}}]}),
        "Duplicate value",
    ),
    (
        "gate-interval-zero",
        spec(gates={"pre": [{"name": "g", "intervalSeconds": 0, "pods": {}}]}),
        "greater than or equal to 1",
    ),
    (
        "gate-threshold-zero",
        spec(gates={"pre": [{"name": "g", "failureThreshold": 0, "pods": {}}]}),
        "greater than or equal to 1",
    ),
    (
        "http-url-and-service",
        spec(gates=gate(http={"url": "http://a", "service": {"name": "s", "port": 80}})),
        "exactly one of url or service",
    ),
    ("http-neither", spec(gates=gate(http={})), "exactly one of url or service"),
    ("http-ftp-url", spec(gates=gate(http={"url": "ftp://a/b"})), "url"),
    ("http-method", spec(gates=gate(http={"url": "http://a", "method": "DELETE"})), "Unsupported value"),
    ("http-status-out-of-range", spec(gates=gate(http={"url": "http://a", "expectedStatus": [99]})), "100"),
    (
        "http-jsonpath-without-value",
        spec(gates=gate(http={"url": "http://a", "jsonPath": "$.a"})),
        "jsonPath and jsonValue go together",
    ),
    (
        "http-header-both",
        spec(
            gates=gate(
                http={
                    "url": "http://a",
                    "headers": [
                        {"name": "X", "value": "v", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
                    ],
                }
            )
        ),
        "exactly one of value or valueFrom",
    ),
    (
        "http-header-secret-other-ns",
        spec(
            gates=gate(
                http={
                    "url": "http://a",
                    "headers": [
                        {"name": "X", "valueFrom": {"secretKeyRef": {"name": "other/secret", "key": "k"}}}
                    ],
                }
            )
        ),
        "name",
    ),
    ("prometheus-no-threshold", spec(gates=gate(prometheus={"query": "up"})), "needs above or below"),
    ("prometheus-no-query", spec(gates=gate(prometheus={"below": 1})), "query: Required value"),
    (
        "prometheus-empty-policy",
        spec(gates=gate(prometheus={"query": "up", "below": 1, "emptyResult": "Maybe"})),
        "Unsupported value",
    ),
    ("pods-negative", spec(gates=gate(pods={"maxRestarts": -1})), "greater than or equal to 0"),
    ("too-many-gates", spec(gates={"pre": [{"name": f"g{i}", "pods": {}} for i in range(20)]}), "at most 16"),
    *(
        (
            f"service-port-{port}",
            spec(gates=gate(http={"service": {"name": "web", "port": port}})),
            "service.port",
        )
        for port in (0, 70000, "8080", "a--b")
    ),
]

# Accepted by the schema; the operator ends them Failed with a message that says what to fix.
FAILED: list[tuple[str, dict[str, Any], str]] = [
    (
        "unknown-container",
        spec(images=[{"container": "sidecar", "image": "registry.example/web:2"}]),
        'no container "sidecar"',
    ),
    ("missing-deployment", spec(deployment="nope", retry={"attempts": 0}), 'Deployment "nope" not found'),
    (
        "workloads-second-missing",
        {
            "workloads": [
                {"name": "web", "images": IMG},
                {"kind": "StatefulSet", "name": "nope", "images": IMG},
            ],
            "retry": {"attempts": 0},
        },
        'StatefulSet "nope" not found',
    ),
    (
        "workloads-unknown-container",
        {
            "workloads": [
                {"name": "web", "images": [{"container": "sidecar", "image": "registry.example/web:2"}]}
            ]
        },
        'Deployment "web" has no container "sidecar"',
    ),
    (
        "missing-secret",
        spec(
            retry={"attempts": 0},
            gates=gate(
                # A missing Secret may yet be made: the gate keeps checking, and fails at its threshold (3 checks;
                # 1 s apart here, 10 s by default)
                intervalSeconds=1,
                http={
                    "url": "http://127.0.0.1:9/",
                    "headers": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k"}}}],
                },
            ),
        ),
        'Secret "absent"',
    ),
    (
        "metadata-address",
        spec(retry={"attempts": 0}, gates=gate(http={"url": "http://169.254.169.254/"})),
        "refused",
    ),
    (
        "metadata-hostname",
        spec(retry={"attempts": 0}, gates=gate(http={"url": "http://metadata.google.internal/"})),
        "refused",
    ),
    (
        "decimal-metadata-ip",
        spec(retry={"attempts": 0}, gates=gate(http={"url": "http://2852039166/"})),
        "refused",
    ),
    (
        "ipv6-link-local",
        spec(retry={"attempts": 0}, gates=gate(http={"url": "http://[fe80::1]/"})),
        "refused",
    ),
    ("skip-not-allowed", spec(gates={"skip": True}), "--allow-gate-skip"),
    *(
        (
            f"ipv6-metadata-{address.replace(':', '-')}",
            spec(retry={"attempts": 0}, gates=gate(http={"url": f"http://[{address}]/"})),
            "a cloud metadata address",
        )
        for address in ("fd00:ec2::254", "fd20:ce::254")
    ),
    (
        "verification-over-the-operators-limit",
        spec(verification={"durationSeconds": 7200}),
        "over this operator's limit of 3600 (--max-verification)",
    ),
    (
        "rollout-timeout-over-the-operators-limit",
        spec(rollout={"timeoutSeconds": 7200}),
        "over this operator's limit of 3600 (--max-rollout-timeout)",
    ),
    (
        "http-body-over-16-kib",
        spec(gates=gate(http={"url": "http://127.0.0.1:9/", "method": "POST", "body": {"x": "y" * 17000}})),
        "body is larger than 16 KiB",
    ),
    (
        "bad-regex",
        spec(retry={"attempts": 0}, gates=gate(http={"url": "http://127.0.0.1:9/", "bodyRegex": "(("})),
        "bodyRegex",
    ),
]


def test_the_corpus_has_at_least_sixty_bad_requests() -> None:
    assert len(REFUSED) + len(FAILED) >= 60


@pytest.mark.parametrize(("case", "body", "expected"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_bad_request_is_refused_at_admission_with_a_clear_message(
    ns: Namespace, case: str, body: Any, expected: str
) -> None:
    doc: dict[str, Any] = {
        "apiVersion": "deployreq.dev/v1alpha1",
        "kind": "DeploymentRequest",
        "metadata": {"name": "bad"},
    }
    if body is not None:
        doc["spec"] = body
    with pytest.raises(ApiException) as refused:
        ns.custom.create_namespaced_custom_object(
            "deployreq.dev", "v1alpha1", ns.name, "deploymentrequests", doc
        )
    assert refused.value.status == 422, refused.value.body
    message = json.loads(refused.value.body)["message"]
    assert message.startswith('DeploymentRequest.deployreq.dev "bad" is invalid: '), message
    assert expected in message, message


@pytest.mark.parametrize(("case", "body", "expected"), FAILED, ids=[c[0] for c in FAILED])
def test_a_request_the_schema_cannot_judge_ends_failed_and_changes_nothing(
    ns: Namespace, operator: OperatorProcess, case: str, body: dict[str, Any], expected: str
) -> None:
    ns.deployment()
    before = ns.get_deployment()
    ns.custom.create_namespaced_custom_object(
        "deployreq.dev",
        "v1alpha1",
        ns.name,
        "deploymentrequests",
        {
            "apiVersion": "deployreq.dev/v1alpha1",
            "kind": "DeploymentRequest",
            "metadata": {"name": "bad"},
            "spec": body,
        },
    )
    done = ns.wait_phase("bad", timeout=60)
    assert done["status"]["phase"] == "Failed", done["status"]
    assert expected in done["status"]["message"], done["status"]["message"]
    after = ns.get_deployment()
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"]["template"] == before["spec"]["template"]
    assert operator.alive()
