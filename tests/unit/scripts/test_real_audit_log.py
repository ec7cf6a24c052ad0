"""The real API server's audit log read as kubesim's audit records (scripts/real_cluster.py), over a recorded log.

``data/kube-apiserver-audit.log`` is one namespace of a `DEPLOYREQ_CLUSTER=controlplane make chaos SIZE=small
SEED=2` run on kube-apiserver v1.36.3 with controlplane/audit-policy.yaml, as written (not edited): every Lease
and Deployment write in it (two operators, image patches, an undo, the lock taken over from a stalled holder), and
the first two events of each other kind (the Deployment controller's status writes, requests' status patches, pods,
watches), to keep the file small.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from scripts.chaos import Stats, accepted, check_namespace, commit_order
from scripts.real_cluster import AuditLog, read_audit_log, record_of, timestamp

SAMPLE = Path(__file__).parent / "data" / "kube-apiserver-audit.log"


def event(stage: str, verb: str = "patch", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "RequestResponse",
        "auditID": "a1",
        "stage": stage,
        "requestURI": "/apis/apps/v1/namespaces/t-1/deployments/web",
        "verb": verb,
        "user": {"username": "admin"},
        "userAgent": "deployreq/op-a",
        "objectRef": {"resource": "deployments", "namespace": "t-1", "name": "web", "apiGroup": "apps"},
        "responseStatus": {"code": 200},
        "requestReceivedTimestamp": "2026-11-30T17:07:53.857388Z",
        "stageTimestamp": "2026-11-30T17:07:53.861093Z",
        **extra,
    }


def test_one_record_per_request_in_kubesims_shape() -> None:
    body = {"metadata": {"annotations": {"deployreq.dev/run": "r1/u/1/"}}}
    record = record_of(
        event(
            "ResponseComplete",
            requestObject=body,
            responseObject={"kind": "Deployment", "metadata": {"resourceVersion": "412"}},
        )
    )
    assert record is not None
    assert record["time"] == timestamp("2026-11-30T17:07:53.857388Z")
    assert abs(record["duration_ms"] - 3.705) < 1e-6
    assert {k: record[k] for k in ("verb", "resource", "namespace", "name", "code", "userAgent", "user")} == {
        "verb": "patch",
        "resource": "deployments",
        "namespace": "t-1",
        "name": "web",
        "code": 200,
        "userAgent": "deployreq/op-a",
        "user": "admin",
    }
    assert record["requestObject"] == body and record["revision"] == 412
    assert "subresource" not in record


def test_stages_that_are_not_the_requests_record_are_skipped() -> None:
    assert record_of(event("RequestReceived")) is None
    assert record_of(event("ResponseStarted")) is None  # a non-watch request's record is its completion
    assert record_of(event("ResponseStarted", verb="watch")) is not None  # a watch may never complete
    assert record_of(event("ResponseComplete", verb="watch")) is None
    assert record_of(event("Panic", responseStatus={}))["code"] == 500  # type: ignore[index]


def test_a_refused_write_or_a_status_answer_has_no_revision() -> None:
    refused = record_of(
        event("ResponseComplete", responseStatus={"code": 409}, responseObject={"kind": "Status"})
    )
    deleted = record_of(event("ResponseComplete", verb="delete", responseObject={"kind": "Status"}))
    assert refused is not None and deleted is not None
    assert "revision" not in refused and "revision" not in deleted and not accepted(refused)


def test_the_log_is_read_incrementally_and_a_half_written_line_waits(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    first, second = (
        json.dumps(event("ResponseComplete")),
        json.dumps(event("ResponseComplete", verb="update")),
    )
    path.write_text(first + "\n" + second[:40])
    log = AuditLog(path)
    assert [r["verb"] for r in log.records()] == ["patch"]
    with path.open("a") as f:
        f.write(second[40:] + "\n")
    assert [r["verb"] for r in log.records()] == ["patch", "update"]
    assert [r["verb"] for r in log.records(1)] == ["update"]
    assert AuditLog(tmp_path / "missing.log").records() == []


def test_a_recorded_log_of_the_real_api_server_passes_the_checker() -> None:
    records = read_audit_log(SAMPLE)
    namespaces = {r["namespace"] for r in records if r.get("namespace")}
    assert len(namespaces) == 1
    stats = Stats()
    assert check_namespace(namespaces.pop(), records, stats) == []
    assert stats.deployment_writes >= 2 and stats.takeovers >= 1 and len(stats.lock_holders) == 2
    writes = [r for r in records if accepted(r) and r["resource"] in ("deployments", "leases")]
    assert writes and all("revision" in r for r in writes)  # the policy logs their responses
    ordered = commit_order(writes)
    assert [r["revision"] for r in ordered] == sorted(r["revision"] for r in writes)
