"""Gates written by an attacker who may only create DeploymentRequests, Services and Secrets in their namespace.

Each scenario is one finding of the gate security review (docs/gates.md, threat model), run against the real
operator process. What must hold: the operator never calls the API on the gate's behalf (kubesim's audit trail
shows no operator request into the victim's namespace before the victim's own request), nothing is created
there, and no Secret value reaches status, Events or the operator's log.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.system.harness import KubesimProcess, Namespace, OperatorProcess, StubServer, wait_for

pytestmark = [
    pytest.mark.system,
    pytest.mark.kubesim_only(
        "reads kubesim's audit trail and reaches the backend through kubesim's service-proxy stand-in"
    ),
]
DENIED_RANGE = "10.99.0.0/16"
OPERATOR_ARGS = (
    "--gate-allow-cidr",
    "127.0.0.0/8",
    "--gate-deny-cidr",
    DENIED_RANGE,
    "--gate-service-transport",
    "proxy",
)
GOOD = "registry.example/web:1.1"
VICTIM_SECRET = "victim-topsecret-value-42"
GATE_LABEL = {"deployreq.dev/gate-secret": "true"}


def gate(**http: Any) -> dict[str, Any]:
    return {
        "pre": [{"name": "g", "intervalSeconds": 1, "timeoutSeconds": 2, "failureThreshold": 1, "http": http}]
    }


def service(ns: Namespace, name: str, backend: str | None = None, **spec: Any) -> None:
    annotations = {"kubesim.deployreq.dev/proxy-to": backend} if backend else {}
    ns.core.create_namespaced_service(
        ns.name,
        {"metadata": {"name": name, "annotations": annotations}, "spec": {"ports": [{"port": 80}], **spec}},
    )


def everything_said(ns: Namespace, name: str, operator: OperatorProcess) -> str:
    """The request's status, every Event in the namespace, and the operator's log, as one text."""
    events = ns.core.list_namespaced_event(ns.name).items
    return "\n".join(
        [json.dumps(ns.get(name).get("status")), *(f"{e.reason} {e.message}" for e in events), operator.log()]
    )


def operator_calls_into(sim: KubesimProcess, namespace: str) -> list[dict[str, Any]]:
    return [
        r
        for r in sim.audit()
        if str(r.get("userAgent", "")).startswith("deployreq/") and r.get("namespace") == namespace
    ]


@pytest.fixture
def victim(ns2: Namespace) -> Namespace:
    ns2.core.create_namespaced_secret(
        ns2.name,
        {
            "metadata": {"name": "topsecret", "labels": GATE_LABEL},
            "data": {"value": base64.b64encode(VICTIM_SECRET.encode()).decode()},
        },
    )
    return ns2


@pytest.fixture
def redirector(kubesim: KubesimProcess, victim: Namespace) -> Iterator[StubServer]:
    """A Service backend that redirects into the API server: to the victim's Secret, or (307) to its Leases."""
    secret_url = f"{kubesim.url}/api/v1/namespaces/{victim.name}/secrets/topsecret"
    leases_url = f"{kubesim.url}/apis/coordination.k8s.io/v1/namespaces/{victim.name}/leases"

    def respond(method: str, path: str, body: bytes) -> tuple[int, str, dict[str, str]]:
        if path.startswith("/lease"):
            return 307, "", {"Location": leases_url}
        return 302, "", {"Location": secret_url}

    server = StubServer(respond)
    yield server
    server.close()


def test_a_redirect_through_the_service_proxy_does_not_read_another_namespaces_secret(
    ns: Namespace,
    victim: Namespace,
    redirector: StubServer,
    kubesim: KubesimProcess,
    operator: OperatorProcess,
) -> None:
    service(ns, "web", redirector.url)
    ns.deployment()
    ns.request(
        "steal",
        {"app": GOOD},
        retry={"attempts": 0},
        gates=gate(
            service={"name": "web", "port": 80, "path": "/ready"}, jsonPath="$.data.value", jsonValue="x"
        ),
    )
    done = ns.wait_phase("steal", "Failed")
    assert "redirects are not followed through the API server's service proxy" in done["status"]["message"]
    assert redirector.requests, "the gate never reached its backend"
    assert operator_calls_into(kubesim, victim.name) == []
    said = everything_said(ns, "steal", operator)
    assert VICTIM_SECRET not in said and base64.b64encode(VICTIM_SECRET.encode()).decode() not in said
    assert ns.images() == {"app": "registry.example/web:1.0"}  # nothing changed


def test_a_307_to_another_namespaces_leases_creates_nothing_and_its_queue_keeps_running(
    ns: Namespace,
    victim: Namespace,
    redirector: StubServer,
    kubesim: KubesimProcess,
    operator: OperatorProcess,
) -> None:
    service(ns, "web", redirector.url)
    ns.deployment()
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "deployreq-lock"},
        "spec": {"holderIdentity": "attacker", "leaseDurationSeconds": 86400},
    }
    ns.request(
        "block",
        {"app": GOOD},
        retry={"attempts": 0},
        gates=gate(service={"name": "web", "port": 80, "path": "/lease"}, method="POST", body=lease),
    )
    ns.wait_phase("block", "Failed")
    assert operator_calls_into(kubesim, victim.name) == []
    victim.deployment()
    victim.request("mine", {"app": GOOD})
    assert victim.wait_phase("mine", "Succeeded")["status"]["phase"] == "Succeeded"


def test_a_url_gate_at_the_api_server_is_refused_although_its_range_is_allowed(
    ns: Namespace, victim: Namespace, kubesim: KubesimProcess, operator: OperatorProcess
) -> None:
    ns.deployment()
    ns.request(
        "direct",
        {"app": GOOD},
        retry={"attempts": 0},
        gates=gate(url=f"{kubesim.url}/api/v1/namespaces/{victim.name}/secrets/topsecret"),
    )
    done = ns.wait_phase("direct", "Failed")
    assert "is the Kubernetes API server (gates never call the API)" in done["status"]["message"]
    assert operator_calls_into(kubesim, victim.name) == []


def test_service_backends_the_guard_refuses_are_never_proxied_to(
    ns: Namespace, kubesim: KubesimProcess, operator: OperatorProcess
) -> None:
    service(ns, "meta", type="ExternalName", externalName="metadata.google.internal")
    service(ns, "denied")
    ns.core.create_namespaced_endpoints(
        ns.name,
        {
            "metadata": {"name": "denied"},
            "subsets": [{"addresses": [{"ip": "10.99.0.5"}], "ports": [{"port": 80}]}],
        },
    )
    for name, target in (("ext", "meta"), ("ep", "denied")):
        ns.deployment(name)  # one Deployment each: a request for the same one would supersede the other
        ns.request(
            name,
            {"app": GOOD},
            deployment=name,
            retry={"attempts": 0},
            gates=gate(service={"name": target, "port": 80}),
        )
    assert "of type ExternalName" in ns.wait_phase("ext", "Failed")["status"]["message"]
    message = ns.wait_phase("ep", "Failed")["status"]["message"]
    assert f"has an endpoint that 10.99.0.5 is in {DENIED_RANGE}, denied by --gate-deny-cidr" in message
    proxied = [
        r for r in kubesim.audit() if r.get("subresource") == "proxy" and r.get("namespace") == ns.name
    ]
    assert proxied == []


def test_a_secret_the_target_echoes_back_is_masked_everywhere(
    ns: Namespace, operator: OperatorProcess
) -> None:
    token = "attacker-own-token-7731"
    echo = StubServer(
        lambda method, path, body: (200, json.dumps({"auth": f"seen {token} here", "status": "degraded"}))
    )
    try:
        ns.core.create_namespaced_secret(
            ns.name,
            {
                "metadata": {"name": "auth", "labels": GATE_LABEL},
                "data": {"token": base64.b64encode(token.encode()).decode()},
            },
        )
        ns.deployment()
        header = {"name": "X-Token", "valueFrom": {"secretKeyRef": {"name": "auth", "key": "token"}}}
        ns.request(
            "echo",
            {"app": GOOD},
            retry={"attempts": 0},
            gates=gate(url=f"{echo.url}/", headers=[header], jsonPath="$.auth", jsonValue="ok"),
        )
        done = ns.wait_phase("echo", "Failed")
        assert echo.requests and echo.requests[0]["headers"]["X-Token"] == token  # it was sent
        assert "$.auth is 'seen *** here', expected 'ok'" in done["status"]["message"]
        wait_for(
            lambda: [e.reason for e in ns.core.list_namespaced_event(ns.name).items],
            lambda reasons: "GateFailed" in reasons,
            20,
            "the GateFailed Event",
        )
        assert token not in everything_said(ns, "echo", operator)
    finally:
        echo.close()


def test_an_unlabelled_secret_and_a_missing_one_get_the_same_answer(
    ns: Namespace, operator: OperatorProcess
) -> None:
    target = StubServer(lambda method, path, body: (200, "{}"))
    try:
        ns.core.create_namespaced_secret(
            ns.name,
            {"metadata": {"name": "db"}, "data": {"password": base64.b64encode(b"pw-123456").decode()}},
        )
        for name, secret in (("unlabelled", "db"), ("missing", "nope")):
            ns.deployment(name)  # one Deployment each: a request for the same one would supersede the other
            header = {"name": "X-K", "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}}}
            ns.request(
                name,
                {"app": GOOD},
                deployment=name,
                retry={"attempts": 0},
                gates=gate(url=f"{target.url}/", headers=[header]),
            )
        for name, secret in (("unlabelled", "db"), ("missing", "nope")):
            message = ns.wait_phase(name, "Failed")["status"]["message"]
            assert (
                f'Secret "{secret}" key "password" is not available to gates: it must exist in namespace {ns.name}, '
                "carry the label deployreq.dev/gate-secret=true and hold that key"
            ) in message
        assert target.requests == []  # nothing was sent without the header
        assert "pw-123456" not in everything_said(ns, "unlabelled", operator)
    finally:
        target.close()
