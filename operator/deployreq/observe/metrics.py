"""Prometheus metrics: one typed recorder, label values from small closed sets only (no namespace or name labels).

Served on ``/metrics`` by prometheus-client's own HTTP server (a thread, so scrapes never touch the event loop).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from deployreq.api.phases import Phase

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
OUTCOMES = tuple(
    p.value for p in (Phase.SUCCEEDED, Phase.FAILED, Phase.ROLLED_BACK, Phase.CANCELLED, Phase.SUPERSEDED)
)
GATE_KINDS = ("http", "prometheus", "pods")
GATE_RESULTS = ("pass", "fail", "inconclusive", "error")


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "deployreq_requests",
            "Requests that reached a terminal phase, by outcome.",
            ["outcome"],
            registry=r,
        )
        self.queue_wait = Histogram(
            "deployreq_queue_wait_seconds",
            "Time from creation (or re-queue) to start.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.gate_time = Histogram(
            "deployreq_gate_duration_seconds",
            "Time a stage of gates took.",
            ["stage"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.rollout_time = Histogram(
            "deployreq_rollout_duration_seconds",
            "Time from the image patch to the rollout being complete.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.verification_time = Histogram(
            "deployreq_verification_duration_seconds",
            "Time spent verifying a completed rollout.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.time_to_rollback = Histogram(
            "deployreq_time_to_rollback_seconds",
            "Time from a failure being detected to the rollback being available.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
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
        self.lease_takeovers = Counter(
            "deployreq_lease_takeovers",
            "Namespace locks taken over after their holder stopped renewing.",
            registry=r,
        )
        for outcome in OUTCOMES:
            self.requests.labels(outcome)
        for kind in GATE_KINDS:
            for result in GATE_RESULTS:
                self.gate_evaluations.labels(kind, result)
        for stage in ("pre", "post"):
            self.gate_time.labels(stage)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        start_http_server(port, addr=host, registry=self.registry)
