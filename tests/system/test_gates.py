"""Health gates end to end: local servers on 127.0.0.1 stand in for the application and Prometheus (allowed by
the operator's --gate-allow-cidr flag, as a test cluster would allow them)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.system.harness import Namespace, OperatorProcess, StubServer, wait_for

pytestmark = pytest.mark.system
ERROR_RATE = {"value": "0.01"}


def _prometheus(method: str, path: str, body: bytes) -> tuple[int, str]:
    result = [{"metric": {"job": "web"}, "value": [1_800_000_000, ERROR_RATE["value"]]}]
    return 200, json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}})


PROMETHEUS = StubServer(_prometheus)  # started at import: the operator's --prometheus-url must name it
OPERATOR_ARGS = (
    "--gate-allow-cidr",
    "127.0.0.0/8",
    "--allow-gate-skip",
    "--prometheus-url",
    PROMETHEUS.url,
    "--gate-service-transport",
    "proxy",
)


@pytest.fixture(scope="module", autouse=True)
def _close_prometheus() -> Iterator[None]:
    yield
    PROMETHEUS.close()


GOOD = "registry.example/web:1.1"


def fast(name: str, **kind: Any) -> dict[str, Any]:
    return {
        "name": name,
        "intervalSeconds": 1,
        "timeoutSeconds": 2,
        "successThreshold": 1,
        "failureThreshold": 2,
        **kind,
    }


def event_reasons(ns: Namespace, name: str) -> set[str]:
    """The reasons of the Events on a request, once the gate's Events have arrived (they are posted in the
    background)."""

    def read() -> set[str]:
        events = ns.core.list_namespaced_event(ns.name, field_selector=f"involvedObject.name={name}").items
        return {e.reason for e in events}

    return wait_for(read, lambda reasons: bool(reasons & {"GatePassed", "GateFailed"}), 10, "gate events")  # type: ignore[no-any-return]


@pytest.fixture
def app() -> Iterator[tuple[StubServer, dict[str, int]]]:
    state = {"code": 200}
    server = StubServer(lambda method, path, body: (state["code"], '{"status": "ok", "ready": true}'))
    yield server, state
    server.close()


def test_a_passing_pre_gate_with_a_secret_header_lets_the_deploy_run(
    ns: Namespace, operator: OperatorProcess, app: tuple[StubServer, dict[str, int]]
) -> None:
    server, _ = app
    secret_value = "s3cr3t-token-value"
    ns.core.create_namespaced_secret(
        ns.name,
        {
            "metadata": {"name": "gate-auth", "labels": {"deployreq.dev/gate-secret": "true"}},
            "data": {"token": base64.b64encode(secret_value.encode()).decode()},
        },
    )
    ns.deployment()
    ns.request(
        "r",
        {"app": GOOD},
        gates={
            "pre": [
                fast(
                    "health",
                    http={
                        "url": f"{server.url}/healthz",
                        "jsonPath": "$.status",
                        "jsonValue": "ok",
                        "headers": [
                            {
                                "name": "Authorization",
                                "valueFrom": {"secretKeyRef": {"name": "gate-auth", "key": "token"}},
                            }
                        ],
                    },
                )
            ]
        },
    )
    done = ns.wait_phase("r", timeout=60)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert any(r["headers"].get("Authorization") == secret_value for r in server.requests)
    gate = done["status"]["gates"][0]
    assert gate["name"] == "health" and gate["stage"] == "pre" and gate["phase"] == "Passed"
    assert secret_value not in json.dumps(done)
    assert secret_value not in operator.log()
    assert "GatePassed" in event_reasons(ns, "r")


def test_a_failing_pre_gate_leaves_the_deployment_untouched(
    ns: Namespace, app: tuple[StubServer, dict[str, int]]
) -> None:
    server, state = app
    state["code"] = 503
    ns.deployment()
    generation = ns.get_deployment()["metadata"]["generation"]
    ns.request(
        "r",
        {"app": GOOD},
        retry={"attempts": 0, "backoffSeconds": 1},
        gates={"pre": [fast("health", http={"url": f"{server.url}/healthz"})]},
    )
    done = ns.wait_phase("r", timeout=60)
    assert done["status"]["phase"] == "Failed", done["status"]
    assert "Pre-deploy gates failed" in done["status"]["message"]
    assert "GateFailed" in event_reasons(ns, "r")
    assert ns.get_deployment()["metadata"]["generation"] == generation
    assert ns.images() == {"app": "registry.example/web:1.0"}


def test_a_post_gate_turning_bad_during_the_window_rolls_back(
    ns: Namespace, app: tuple[StubServer, dict[str, int]]
) -> None:
    server, state = app
    ns.deployment()
    ns.request(
        "r",
        {"app": GOOD},
        verification={"durationSeconds": 30},
        gates={"post": [fast("health", http={"url": f"{server.url}/healthz"})]},
    )
    ns.wait_request(
        "r",
        lambda o: any(g.get("phase") == "Passed" for g in (o.get("status") or {}).get("gates") or []),
        60,
        "the post gate passing once",
    )
    state["code"] = 500
    done = ns.wait_phase("r", timeout=60)
    assert done["status"]["phase"] == "RolledBack", done["status"]
    assert "Post-deploy gates failed" in done["status"]["message"]
    assert ns.images() == {"app": "registry.example/web:1.0"}


def test_prometheus_and_pods_gates_judge_the_new_version(ns: Namespace) -> None:
    ns.deployment()
    post = [
        fast("errors", prometheus={"query": 'rate(errors{job="web"}[1m])', "below": 0.05}),
        fast("pods", pods={"maxRestarts": 0}),
    ]
    ERROR_RATE["value"] = "0.01"
    ns.request("ok", {"app": GOOD}, verification={"durationSeconds": 2}, gates={"post": post})
    assert ns.wait_phase("ok", timeout=60)["status"]["phase"] == "Succeeded"
    assert any("/api/v1/query" in r["path"] for r in PROMETHEUS.requests)
    ERROR_RATE["value"] = "0.5"
    ns.request(
        "bad", {"app": "registry.example/web:1.2"}, verification={"durationSeconds": 20}, gates={"post": post}
    )
    done = ns.wait_phase("bad", timeout=60)
    assert done["status"]["phase"] == "RolledBack", done["status"]
    assert "errors" in done["status"]["message"]
    assert ns.images() == {"app": GOOD}


def test_a_per_gate_prometheus_address_needs_the_operators_allow_list(ns: Namespace) -> None:
    ns.deployment()
    ns.request(
        "r",
        {"app": GOOD},
        retry={"attempts": 0, "backoffSeconds": 1},
        gates={
            "pre": [fast("errors", prometheus={"query": "up", "address": "http://127.0.0.1:1", "below": 1})]
        },
    )
    done = ns.wait_phase("r", timeout=60)
    assert done["status"]["phase"] == "Failed"
    assert "--prometheus-allowed-address" in done["status"]["message"]


def test_a_gate_at_the_metadata_address_is_refused_and_nothing_changes(ns: Namespace) -> None:
    ns.deployment()
    ns.request(
        "r",
        {"app": GOOD},
        retry={"attempts": 0, "backoffSeconds": 1},
        gates={"pre": [fast("meta", http={"url": "http://169.254.169.254/latest/meta-data/"})]},
    )
    done = ns.wait_phase("r", timeout=60)
    assert done["status"]["phase"] == "Failed"
    assert "refused" in done["status"]["message"]
    assert ns.images() == {"app": "registry.example/web:1.0"}


def test_an_emergency_request_skips_its_gates_when_the_operator_allows_it(ns: Namespace) -> None:
    ns.deployment()
    ns.request(
        "hotfix",
        {"app": GOOD},
        priority="urgent",
        gates={"skip": True, "pre": [fast("never", http={"url": "http://169.254.169.254/"})]},
    )
    done = ns.wait_phase("hotfix", timeout=60)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert any(h["message"] and "skipped" in h["message"] for h in done["status"]["history"])


@pytest.mark.kubesim_only(
    "the Service's backend is a stub on this host, reached by kubesim's proxy-to annotation"
)
def test_a_service_gate_reaches_the_app_through_the_api_servers_service_proxy(
    ns: Namespace, app: tuple[StubServer, dict[str, int]]
) -> None:
    server, _ = app
    ns.core.create_namespaced_service(
        ns.name,
        {
            "metadata": {"name": "web", "annotations": {"kubesim.deployreq.dev/proxy-to": server.url}},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
        },
    )
    ns.deployment()
    ns.request(
        "r",
        {"app": GOOD},
        gates={
            "pre": [
                fast(
                    "svc",
                    http={"service": {"name": "web", "port": 80, "path": "/ready"}, "bodyContains": "ok"},
                )
            ]
        },
    )
    done = ns.wait_phase("r", timeout=60)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert any(r["path"].startswith("/ready") for r in server.requests)
