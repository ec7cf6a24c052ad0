"""Per cause, a failure is retried only when waiting can cure it; the waiting request says why and until when.

Every request here keeps the default retry policy (3 retries, 10 s backoff doubling): before this rule a refused
gate URL took 10 + 20 + 40 s of retries to end Failed.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.system.harness import Namespace, OperatorProcess, wait_for

pytestmark = pytest.mark.system
OPERATOR_ARGS = ("--gate-allow-cidr", "127.0.0.0/8")
NEW = {"app": "registry.example/web:2"}


def gate(**member: Any) -> dict[str, Any]:
    return {"pre": [{"name": "smoke", **member}]}


@pytest.mark.parametrize(
    ("case", "spec", "images", "expected"),
    [
        ("guard-refusal", {"gates": gate(http={"url": "http://169.254.169.254/"})}, NEW, "refused"),
        (
            "bad-regex",
            {"gates": gate(http={"url": "http://127.0.0.1:9/", "bodyRegex": "(("})},
            NEW,
            "bodyRegex",
        ),
        ("unknown-container", {}, {"sidecar": "registry.example/web:2"}, 'no container "sidecar"'),
    ],
)
def test_a_cause_waiting_cannot_cure_fails_at_once_with_what_to_fix(
    ns: Namespace,
    operator: OperatorProcess,
    case: str,
    spec: dict[str, Any],
    images: dict[str, str],
    expected: str,
) -> None:
    ns.deployment()
    started = time.monotonic()
    ns.request("bad", images, **spec)
    done = ns.wait_phase("bad", timeout=30)
    took = time.monotonic() - started
    status = done["status"]
    assert status["phase"] == "Failed", status
    assert expected in status["message"], status["message"]
    assert status.get("attempt") == 1, status
    assert "retry" not in status["message"].lower() or "Retrying cannot change this" in status["message"]
    assert took < 8 * ns.slow, f"{case}: ended after {took:.1f}s, as if retried"
    print(f"{case}: Failed after {took:.2f}s")


def test_a_missing_deployment_is_waited_for_and_the_wait_is_explained(ns: Namespace) -> None:
    ns.request("early", {"app": "registry.example/web:1.1"}, retry={"attempts": 3, "backoffSeconds": 10})
    waiting = ns.wait_request(
        "early", lambda o: "Position 1 in the queue" in ((o.get("status") or {}).get("message") or ""), 30
    )
    message = waiting["status"]["message"]
    assert waiting["status"]["phase"] == "Queued"
    assert 'Deployment "web" not found in namespace' in message
    assert "Attempt 1 of 4 failed; attempt 2 starts at " in message
    assert message.startswith("Waiting to retry: "), message
    events = wait_for(
        lambda: ns.core.list_namespaced_event(ns.name).items,
        lambda items: any(e.reason == "RetryScheduled" for e in items),
        10,
        "a RetryScheduled event",
    )
    event = next(e for e in events if e.reason == "RetryScheduled")
    assert event.type == "Warning"
    assert "attempt 2 starts at" in event.message and "(in 10s)" in event.message
    ns.deployment()  # what an Argo CD sync does a moment later
    done = ns.wait_phase("early", timeout=40)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert done["status"]["attempt"] == 2
