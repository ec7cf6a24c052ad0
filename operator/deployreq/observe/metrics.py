"""Prometheus metrics: one typed recorder, label values from small closed sets only (no request or workload names;
the release figures carry the namespace, bounded by the namespaces the operator serves, and the workload kind).

Served on ``/metrics`` by prometheus-client's own HTTP server (a thread, so scrapes never touch the event loop).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from deployreq.api.phases import Phase
from deployreq.decide import report

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
OUTCOMES = tuple(
    p.value for p in (Phase.SUCCEEDED, Phase.FAILED, Phase.ROLLED_BACK, Phase.CANCELLED, Phase.SUPERSEDED)
)
GATE_KINDS = ("http", "prometheus", "pods")
GATE_RESULTS = ("pass", "fail", "inconclusive", "error")
RELEASE = ["namespace", "kind"]
"""The labels of the release figures: namespaces the operator serves, and workload kinds (Deployment, StatefulSet,
DaemonSet, or Release for a request of several workloads: bounded, never a workload's name)."""


def _histogram(name: str, doc: str, r: CollectorRegistry, labels: Sequence[str] = ()) -> Histogram:
    return Histogram(name, doc, labels, buckets=DURATION_BUCKETS, registry=r)


class ReleaseMetrics:
    """The figures of ``deployreq report`` as Prometheus series, counted as each request ends."""

    def __init__(self, r: CollectorRegistry) -> None:
        self.finished = Counter(
            "deployreq_release_requests",
            "Requests that ended, by outcome.",
            [*RELEASE, "outcome"],
            registry=r,
        )
        self.failures = Counter(
            "deployreq_release_failures",
            "Requests that ended Failed, by reason.",
            [*RELEASE, "reason"],
            registry=r,
        )
        self.changes = Counter(
            "deployreq_release_changes",
            "Requests that changed the workload, by result (succeeded or failed: rolled back or Failed after the patch).",
            [*RELEASE, "result"],
            registry=r,
        )
        self.time_to_restore = _histogram(
            "deployreq_time_to_restore_seconds",
            "Failure detected to the previous version available again, for rolled-back requests.",
            r,
            RELEASE,
        )
        self.deploy_duration = _histogram(
            "deployreq_deploy_duration_seconds",
            "Start to end of requests that deployed successfully.",
            r,
            RELEASE,
        )
        self.degraded = _histogram(
            "deployreq_request_degraded_seconds",
            "Per request that changed the workload: seconds it ran below its desired available replicas.",
            r,
            RELEASE,
        )
        self.down = _histogram(
            "deployreq_request_downtime_seconds",
            "Per request that changed the workload: seconds it had no available replica.",
            r,
            RELEASE,
        )
        self.manual = Counter(
            "deployreq_manual_interventions",
            "Requests that ended and were a manual intervention, by kind (rollback, rerun, gates_skipped, approval).",
            [*RELEASE, "type"],
            registry=r,
        )

    def observe(self, run: report.Run) -> None:
        """Count one request that ended."""
        labels = (run.namespace, run.kind)
        self.finished.labels(*labels, run.phase.value).inc()
        if run.phase == Phase.FAILED:
            self.failures.labels(*labels, run.reason or "Unknown").inc()
        for kind in run.manual:
            self.manual.labels(*labels, kind).inc()
        if not run.patched or run.phase not in (Phase.SUCCEEDED, Phase.ROLLED_BACK, Phase.FAILED):
            return
        self.changes.labels(*labels, "failed" if report.failed_change(run) else "succeeded").inc()
        self.degraded.labels(*labels).observe(run.degraded_seconds)
        self.down.labels(*labels).observe(run.down_seconds)
        restored = report.restore_seconds(run, [run])
        if restored is not None:
            self.time_to_restore.labels(*labels).observe(restored)
        if run.phase == Phase.SUCCEEDED and run.started is not None and run.completed is not None:
            self.deploy_duration.labels(*labels).observe(run.completed - run.started)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._request_metrics(self.registry)
        self._operator_metrics(self.registry)
        self._release_metrics(self.registry)

    def _request_metrics(self, r: CollectorRegistry) -> None:
        """The requests' outcomes and how long each stage took."""
        self.requests = Counter(
            "deployreq_requests",
            "Requests that reached a terminal phase, by outcome.",
            ["outcome"],
            registry=r,
        )
        self.queue_wait = _histogram(
            "deployreq_queue_wait_seconds", "Time from creation (or re-queue) to start.", r
        )
        self.gate_time = _histogram(
            "deployreq_gate_duration_seconds", "Time a stage of gates took.", r, ["stage"]
        )
        self.rollout_time = _histogram(
            "deployreq_rollout_duration_seconds",
            "Time from the image patch to the rollout being complete.",
            r,
        )
        self.verification_time = _histogram(
            "deployreq_verification_duration_seconds", "Time spent verifying a completed rollout.", r
        )
        self.time_to_rollback = _histogram(
            "deployreq_time_to_rollback_seconds",
            "Time from a failure being detected to the rollback being available.",
            r,
        )
        for outcome in OUTCOMES:
            self.requests.labels(outcome)
        for stage in ("pre", "post"):
            self.gate_time.labels(stage)

    def _operator_metrics(self, r: CollectorRegistry) -> None:
        """Locks, queues, gate checks and the API client."""
        self.active_locks = Gauge(
            "deployreq_active_locks", "Namespace locks this operator holds.", registry=r
        )
        self.queue_depth = Gauge("deployreq_queue_depth", "Requests waiting in all queues.", registry=r)
        self.gate_evaluations = Counter(
            "deployreq_gate_evaluations", "Gate checks, by kind and result.", ["kind", "result"], registry=r
        )
        self.api_errors = Counter(
            "deployreq_api_errors", "Error answers from the Kubernetes API.", registry=r
        )
        self.api_retries = Counter("deployreq_api_retries", "Kubernetes API calls retried.", registry=r)
        self.policy_holds = Counter(
            "deployreq_policy_holds",
            "Times a DeployPolicy began to hold a request back, by policy and reason (window, freeze, budget).",
            ["policy", "reason"],
            registry=r,
        )
        self.lease_takeovers = Counter(
            "deployreq_lease_takeovers",
            "Namespace locks taken over after their holder stopped renewing.",
            registry=r,
        )
        for kind in GATE_KINDS:
            for result in GATE_RESULTS:
                self.gate_evaluations.labels(kind, result)
        self._hold_metrics(r)

    def _hold_metrics(self, r: CollectorRegistry) -> None:
        """Waiting requests a DeployPolicy holds back, by reason (approval: docs/approvals.md; window, freeze,
        budget: docs/policy.md)."""
        self.held = Gauge(
            "deployreq_held_requests",
            "Waiting requests a DeployPolicy holds back, by reason.",
            ["reason"],
            registry=r,
        )
        self.held_oldest = Gauge(
            "deployreq_held_oldest_seconds",
            "How long the longest-held waiting request has been held, by reason (0 when none is).",
            ["reason"],
            registry=r,
        )

    def watch_holds(self, reason: str, since: Callable[[], list[float]], now: Callable[[], float]) -> None:
        """Serve the hold gauges of ``reason`` from ``since`` (when each held request began waiting, epoch)."""
        self.held.labels(reason).set_function(lambda: len(since()))
        self.held_oldest.labels(reason).set_function(lambda: max((now() - t for t in since()), default=0.0))

    def _release_metrics(self, r: CollectorRegistry) -> None:
        """deployreq report's figures as series (docs/report.md), by namespace and workload kind."""
        self.release = ReleaseMetrics(r)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        start_http_server(port, addr=host, registry=self.registry)
