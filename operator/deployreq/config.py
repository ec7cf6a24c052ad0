"""The operator's settings: one typed object, built once from the command line and passed explicitly.

Nothing here is read at import time; ``deployreq run --help`` documents each flag from the same field docs.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field


def default_identity() -> str:
    """The operator's identity in Leases: the pod name in a cluster (stable across container restarts)."""
    return os.environ.get("POD_NAME") or socket.gethostname()


@dataclass(frozen=True)
class Settings:
    """How the operator runs. Every field has a ``deployreq run`` flag of the same name."""

    namespaces: tuple[str, ...] = ()
    """Namespaces to serve; empty with ``all_namespaces`` serves the whole cluster."""

    all_namespaces: bool = True
    """Serve every namespace (the default when no ``--namespace`` is given)."""

    identity: str = field(default_factory=default_identity)
    """This operator's identity, recorded in every Lease it holds."""

    lease_duration_seconds: float = 15.0
    """How long a namespace lock stays valid without renewal; another operator may take it over after that."""

    renew_interval_seconds: float = 5.0
    """How often the holder renews its namespace locks (well under the lease duration)."""

    leader_elect: bool = False
    """Run only while holding the leader-election Lease (for installs with more than one replica)."""

    leader_namespace: str = field(default_factory=lambda: os.environ.get("POD_NAMESPACE", "deployreq-system"))
    """Namespace of the leader-election Lease ``deployreq-leader``."""

    leader_lease_duration_seconds: float = 15.0
    """How long a leader stays leader without renewing; a standby takes over after that."""

    leader_renew_interval_seconds: float = 2.0
    """How often the leader renews, and how often a standby retries."""

    crash_restart_threshold: int = 2
    """Exits of a new pod's container after which the rollout is judged failed without waiting for a deadline
    (restartCount, plus one while the container is down): 2 is when the kubelet shows CrashLoopBackOff."""

    image_pull_grace_seconds: float = 60.0
    """How long a new pod may fail to pull its image (ErrImagePull, then ImagePullBackOff while the kubelet retries
    after 10 s, 20 s, 40 s, ...) before the rollout is judged failed; 0 fails at the first ErrImagePull."""

    max_verification_seconds: float = 3600.0
    """The longest verification window a request may ask for; a request over it ends Failed at once."""

    max_rollout_timeout_seconds: float = 3600.0
    """The longest rollout timeout a request may ask for; a request over it ends Failed at once."""

    api_retry_attempts: int = 5
    """Attempts for an API call that failed transiently (5xx, 429, connection errors)."""

    api_retry_backoff_seconds: float = 0.2
    """First backoff between API retries; doubles each attempt, honouring Retry-After."""

    metrics_port: int = 0
    """Port for /metrics and /healthz; 0 disables the endpoint."""

    metrics_host: str = "127.0.0.1"
    """Address the metrics endpoint listens on."""

    health_port: int = 0
    """Port for kopf's liveness endpoint at /healthz (on ``metrics_host``); 0 disables it."""

    log_format: str = "json"
    """``json`` (one object per line) or ``text``."""

    verbose: bool = False
    """Log at debug level."""

    def serves(self, namespace: str) -> bool:
        return self.all_namespaces or namespace in self.namespaces
