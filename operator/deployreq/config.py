"""The operator's settings: one typed object, built once from the command line and passed explicitly.

Nothing here is read at import time. ``deployreq run``'s flags are generated from these fields (cli/flags.py): the
flag's name and parsing from the field's :func:`flag` metadata, its help from the field's docstring, its default from
the field's default.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any


def default_identity() -> str:
    """The operator's identity in Leases: the pod name in a cluster (stable across container restarts)."""
    return os.environ.get("POD_NAME") or socket.gethostname()


def flag(
    name: str,
    *,
    short: str | None = None,
    kind: str = "str",
    metavar: str | None = None,
    choices: tuple[str, ...] = (),
    default_help: str | None = None,
) -> dict[str, Any]:
    """The ``deployreq run`` flag of a field: its name, how its value is parsed (``duration``, ``int``, ``str``,
    ``switch``: present or not, ``append``: repeatable), and how its default reads in ``--help`` when the field's
    default does not say it (a default computed at start-up)."""
    return {
        "flag": name,
        "short": short,
        "kind": kind,
        "metavar": metavar,
        "choices": choices,
        "default_help": default_help,
    }


@dataclass(frozen=True)
class Settings:
    """How the operator runs. Every field but ``api_retry_backoff_seconds`` has a ``deployreq run`` flag."""

    namespaces: tuple[str, ...] = field(
        default=(),
        metadata=flag("--namespace", short="-n", kind="append", metavar="NS", default_help="all namespaces"),
    )
    """Serve only this namespace (repeatable); empty serves the whole cluster."""

    all_namespaces: bool = field(default=True, metadata=flag("--all-namespaces", short="-A", kind="switch"))
    """Serve every namespace (the default when no ``--namespace`` is given)."""

    identity: str = field(
        default_factory=default_identity,
        metadata=flag("--identity", default_help="$POD_NAME or the host name"),
    )
    """This operator's identity, recorded in every Lease it holds; keep it stable across restarts so a restarted
    operator resumes its own locks."""

    lease_duration_seconds: float = field(default=15.0, metadata=flag("--lease-duration", kind="duration"))
    """How long a namespace lock stays valid without renewal; another operator may take it over after that."""

    renew_interval_seconds: float = field(default=5.0, metadata=flag("--renew-interval", kind="duration"))
    """How often the holder renews its namespace locks (keep it well under the lease duration)."""

    leader_elect: bool = field(default=False, metadata=flag("--leader-elect", kind="switch"))
    """Run only while holding the leader-election Lease (for installs with more than one replica)."""

    leader_namespace: str = field(
        default_factory=lambda: os.environ.get("POD_NAMESPACE", "deployreq-system"),
        metadata=flag(
            "--leader-election-namespace", metavar="NS", default_help="$POD_NAMESPACE or deployreq-system"
        ),
    )
    """Namespace of the leader-election Lease ``deployreq-leader`` and of the DeployPolicy budgets' slot Leases."""

    leader_lease_duration_seconds: float = field(
        default=15.0, metadata=flag("--leader-lease-duration", kind="duration")
    )
    """How long a leader stays leader without renewing; a standby takes over this long after the leader stops."""

    leader_renew_interval_seconds: float = field(
        default=2.0, metadata=flag("--leader-renew-interval", kind="duration")
    )
    """How often the leader renews, and how often a standby retries."""

    crash_restart_threshold: int = field(
        default=2, metadata=flag("--crash-restart-threshold", kind="int", metavar="N")
    )
    """Exits of a new pod's container after which the rollout is judged failed without waiting for a deadline
    (restartCount, plus one while the container is down): 2 is when the kubelet shows CrashLoopBackOff."""

    image_pull_grace_seconds: float = field(
        default=60.0, metadata=flag("--image-pull-grace", kind="duration")
    )
    """How long a new pod may fail to pull its image (ErrImagePull, then ImagePullBackOff while the kubelet retries
    after 10s, 20s, 40s, ...) before the rollout is judged failed; 0 fails at the first ErrImagePull."""

    max_verification_seconds: float = field(
        default=3600.0, metadata=flag("--max-verification", kind="duration")
    )
    """The longest verification window a request may ask for; a request over it ends Failed at once."""

    max_rollout_timeout_seconds: float = field(
        default=3600.0, metadata=flag("--max-rollout-timeout", kind="duration")
    )
    """The longest rollout timeout a request may ask for; a request over it ends Failed at once."""

    finished_history_limit: int = field(
        default=200,
        metadata=flag("--finished-history-limit", kind="int", metavar="N", default_help="200; 0: no limit"),
    )
    """Finished requests kept per namespace, the newest by completion; older ones are deleted. The two newest
    Succeeded requests of each Deployment (deployreq rollback restores them), requests that will run again, and
    requests git manages (Argo CD or Flux tracking, or the annotation deployreq.dev/keep) are never deleted."""

    finished_ttl_seconds: float = field(
        default=30 * 86400.0,
        metadata=flag("--finished-ttl", kind="duration", default_help="720h (30 days); 0: none"),
    )
    """How long a finished request is kept after it ended before it is deleted (with the same exceptions); deployreq
    report sees back this far."""

    api_retry_attempts: int = field(default=5, metadata=flag("--api-retries", kind="int", metavar="N"))
    """Attempts for an API call that failed transiently (5xx, 429, connection errors)."""

    api_retry_backoff_seconds: float = 0.2
    """First backoff between API retries; doubles each attempt, honouring Retry-After. (No flag.)"""

    metrics_port: int = field(
        default=0, metadata=flag("--metrics-port", kind="int", metavar="PORT", default_help="0: off")
    )
    """Serve Prometheus metrics on this port at /metrics; 0 disables the endpoint."""

    metrics_host: str = field(
        default="127.0.0.1",
        metadata=flag("--metrics-host", metavar="ADDR", default_help="127.0.0.1; 0.0.0.0 in a pod"),
    )
    """Address the metrics endpoint (and the liveness probe) listens on."""

    health_port: int = field(
        default=0, metadata=flag("--health-port", kind="int", metavar="PORT", default_help="0: off")
    )
    """Serve kopf's liveness probe on this port at /healthz (on the metrics address); 0 disables it."""

    log_format: str = field(default="json", metadata=flag("--log-format", choices=("json", "text")))
    """The log format: ``json`` (one object per line) or ``text``."""

    verbose: bool = field(default=False, metadata=flag("--verbose", short="-v", kind="switch"))
    """Log at debug level."""

    def serves(self, namespace: str) -> bool:
        return self.all_namespaces or namespace in self.namespaces
