"""The prometheus gate against a real Prometheus server (Debian's package) scraping a test target, and the
operator's own metrics scraped by it: what an alert on deployreq_requests_total sees after a rollback.

Prometheus runs on 127.0.0.1 at a free port with its storage in a temp dir and scrapes every second; the target is
a local server whose /metrics the test sets. The operator queries it through --prometheus-url.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.prometheus import PrometheusServer, free_port, require_prometheus
from tests.system.harness import Namespace, StubServer

pytestmark = pytest.mark.system
ERROR_RATIO = {"value": 0.01}
OPERATOR_ARGS: tuple[str, ...] = ()  # set by the module fixture below, before the operator starts
METRICS_PORT = free_port()


def _metrics(method: str, path: str, body: bytes) -> tuple[int, str, dict[str, str]]:
    text = (
        "# HELP web_error_ratio Share of requests answered with a 5xx.\n"
        "# TYPE web_error_ratio gauge\n"
        f'web_error_ratio{{service="web"}} {ERROR_RATIO["value"]}\n'
    )
    return 200, text, {"X-Content-Type-Options": "nosniff"}


@pytest.fixture(scope="module", autouse=True)
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    require_prometheus()
    target = StubServer(_metrics)
    server = PrometheusServer(
        tmp_path_factory.mktemp("prometheus"),
        {"web": [target.url.removeprefix("http://")], "deployreq-operator": [f"127.0.0.1:{METRICS_PORT}"]},
    )
    module = sys.modules[__name__]
    module.OPERATOR_ARGS = (  # type: ignore[attr-defined]
        *("--gate-allow-cidr", "127.0.0.0/8", "--prometheus-url", server.url),
        *("--metrics-port", str(METRICS_PORT)),
    )
    server.start()
    server.wait_until(
        lambda: server.query('web_error_ratio{service="web"}'), 30, "the first scrape of the target"
    )
    yield server
    server.stop()
    target.close()


def gate(name: str, **prometheus: Any) -> dict[str, Any]:
    return {
        "name": name,
        "intervalSeconds": 1,
        "timeoutSeconds": 3,
        "successThreshold": 1,
        "failureThreshold": 2,
        "prometheus": prometheus,
    }


def scraped(server: PrometheusServer, value: float) -> None:
    ERROR_RATIO["value"] = value
    server.wait_until(
        lambda: [r for r in server.query('web_error_ratio{service="web"}') if float(r["value"][1]) == value],
        30,
        f"Prometheus to scrape web_error_ratio={value}",
    )


def test_a_pre_gate_passes_on_what_prometheus_scraped(ns: Namespace, prometheus: PrometheusServer) -> None:
    ns.deployment()
    scraped(prometheus, 0.01)
    ns.request(
        "ok",
        {"app": "registry.example/web:1.1"},
        gates={"pre": [gate("errors", query='max(web_error_ratio{service="web"})', below=0.05)]},
    )
    done = ns.wait_phase("ok", timeout=60)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    [errors] = done["status"]["gates"]
    assert (errors["phase"], errors["lastValue"]) == ("Passed", "0.01"), errors


def test_a_post_gate_rolls_back_when_the_scraped_value_goes_bad(
    ns: Namespace, prometheus: PrometheusServer
) -> None:
    ns.deployment()
    scraped(prometheus, 0.01)
    ns.request(
        "bad",
        {"app": "registry.example/web:1.2"},
        verification={"durationSeconds": 60},
        gates={"post": [gate("errors", query='web_error_ratio{service="web"}', below=0.05)]},
    )
    ns.wait_request(
        "bad",
        lambda o: any(g.get("phase") == "Passed" for g in (o.get("status") or {}).get("gates") or []),
        60,
        "the post gate passing once",
    )
    scraped(prometheus, 0.5)
    done = ns.wait_phase("bad", timeout=60)
    assert done["status"]["phase"] == "RolledBack", done["status"]
    assert "errors" in done["status"]["message"] and "0.5" in done["status"]["message"], done["status"][
        "message"
    ]
    assert ns.images() == {"app": "registry.example/web:1.0"}
    # The operator's own metrics, scraped by the same Prometheus: what DeployreqRequestFailed alerts on.
    prometheus.wait_until(
        lambda: prometheus.query('increase(deployreq_requests_total{outcome=~"Failed|RolledBack"}[10m]) > 0'),
        30,
        "the RolledBack outcome in deployreq_requests_total",
    )


def test_prometheus_errors_and_empty_results_reach_the_status(
    ns: Namespace, prometheus: PrometheusServer
) -> None:
    ns.deployment()
    ns.request(
        "typo",
        {"app": "registry.example/web:1.1"},
        retry={"attempts": 0},
        gates={"pre": [gate("errors", query="rate(web_error_ratio[1m]", below=0.05)]},
    )
    done = ns.wait_phase("typo", timeout=60)
    assert done["status"]["phase"] == "Failed", done["status"]
    assert "bad_data" in done["status"]["gates"][0]["lastError"], done["status"]["gates"]
    ns.request(
        "quiet",
        {"app": "registry.example/web:1.2"},
        gates={"pre": [gate("absent", query="no_such_metric", below=1, emptyResult="Pass")]},
    )
    assert ns.wait_phase("quiet", timeout=60)["status"]["phase"] == "Succeeded"


def test_the_prometheus_used_is_the_real_server(prometheus: PrometheusServer) -> None:
    assert Path(require_prometheus()[0]).name == "prometheus"
    assert prometheus.query("up")  # the targets as Prometheus itself sees them
