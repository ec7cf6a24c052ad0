"""``deployreq report``'s figures: pure functions over the requests' statuses (docs/report.md says what each means).

The requests are read into :class:`Run` values once (:func:`run_of`, the parsing edge); :func:`compute` groups them
per namespace, per workload and in total and derives every figure. Nothing here is kept between calls: the report is
exactly what the requests in the cluster say, as far back as they reach (finished requests are pruned, see
:mod:`deployreq.decide.prune`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from deployreq.api import times
from deployreq.api.approval import Decision
from deployreq.api.names import ROLLBACK_OF_LABEL
from deployreq.api.phases import ACTIVE, Phase
from deployreq.api.request import Request

Obj = dict[str, Any]
DAY = 86400.0
MANUAL_KINDS = ("rollback", "rerun", "gates_skipped", "approval")
"""What counts as a manual intervention: a request made by ``deployreq rollback``, a re-run (``deployreq rerun`` or
the rerun annotation), a request that skipped its gates, a request that ran on a person's approval (docs/approvals.md)."""


@dataclass(frozen=True)
class Run:
    """The last run of one request, as its status records it (times in epoch seconds)."""

    namespace: str
    name: str
    kind: str
    """The workload's kind (Deployment, StatefulSet, DaemonSet; Release for several)."""
    workload: str
    """The workload's name."""
    phase: Phase
    reason: str
    """Why it ended (status.reason, a CamelCase reason); empty when unknown."""
    created: float
    started: float | None
    completed: float | None
    patched: bool
    """The run changed the workload (its image patch was written)."""
    patched_at: float | None
    failure_detected: float | None
    degraded_seconds: float = 0.0
    down_seconds: float = 0.0
    manual: frozenset[str] = frozenset()


def _manual(req: Request) -> frozenset[str]:
    kinds = set()
    if ROLLBACK_OF_LABEL in req.labels:
        kinds.add("rollback")
    if req.summary.observed_rerun:
        kinds.add("rerun")
    if req.spec.gates.skip:
        kinds.add("gates_skipped")
    if req.status.approval is not None and req.status.approval.decision == Decision.APPROVE:
        kinds.add("approval")
    return frozenset(kinds)


def _target_of(req: Request) -> tuple[str, str]:
    """(kind, name) of what the request changes: its one workload, or ``Release`` and the list of several (a
    bounded kind label for the metrics: Deployment, StatefulSet, DaemonSet or Release)."""
    targets = req.targets if req.is_release else []
    if len(targets) == 1:
        return targets[0].kind.value, targets[0].name
    return ("Release" if targets else "Deployment"), req.deployment


def run_of(body: Obj) -> Run:
    """One request body, as the API returns it, read into a :class:`Run`."""
    req = Request.parse(body)
    st = req.status
    availability = st.availability
    kind, workload = _target_of(req)
    changed = [e.patched_at for e in st.workloads or [] if e.patched_generation]
    return Run(
        namespace=req.namespace,
        name=req.name,
        kind=kind,
        workload=workload,
        phase=req.phase,
        reason=st.reason or "",
        created=times.parse_or_none(req.created) or 0.0,
        started=times.parse_or_none(st.started_at),
        completed=times.parse_or_none(st.completed_at),
        patched=bool(st.patched_generation or changed),
        patched_at=times.parse_or_none(st.patched_at or (changed[0] if changed else None)),
        failure_detected=times.parse_or_none(st.failure_detected_at),
        degraded_seconds=(availability.degraded_seconds or 0.0) if availability else 0.0,
        down_seconds=(availability.down_seconds or 0.0) if availability else 0.0,
        manual=_manual(req),
    )


@dataclass(frozen=True)
class Window:
    """What the report covers: requests that ended from ``start`` to ``end``; the oldest request it saw."""

    start: float
    end: float
    oldest_request: float | None
    since_given: bool

    @property
    def days(self) -> float:
        return max(0.0, self.end - self.start) / DAY


@dataclass(frozen=True)
class Figures:
    """The figures of one group of runs (a workload, a namespace, or all); see docs/report.md."""

    requests: int = 0
    succeeded: int = 0
    rolled_back: int = 0
    failed: int = 0
    failed_by_cause: dict[str, int] = field(default_factory=dict)
    cancelled: int = 0
    superseded: int = 0
    in_progress: int = 0
    success_rate: float | None = None
    changes: int = 0
    failed_changes: int = 0
    change_failure_rate: float | None = None
    deployments: int = 0
    deployment_frequency_per_day: float | None = None
    restores: int = 0
    unrestored: int = 0
    time_to_restore_mean_seconds: float | None = None
    time_to_restore_p90_seconds: float | None = None
    time_to_detect_mean_seconds: float | None = None
    deploy_duration_mean_seconds: float | None = None
    downtime_seconds: float = 0.0
    degraded_seconds: float = 0.0
    overlapping_deploys: int = 0
    manual_interventions: int = 0
    manual_by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    window: Window
    total: Figures
    namespaces: dict[str, Figures]
    workloads: dict[tuple[str, str, str], Figures]
    """By (namespace, kind, workload name)."""


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def p90(values: Sequence[float]) -> float | None:
    """The 90th percentile by nearest rank: the smallest value at least 90 % of the values do not exceed."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def failed_change(run: Run) -> bool:
    """A change that failed in production: rolled back, or ended Failed after its patch."""
    return run.phase == Phase.ROLLED_BACK or (run.phase == Phase.FAILED and run.patched)


def restore_seconds(run: Run, runs: Iterable[Run]) -> float | None:
    """Failure detected -> the previous version available again, for a failed change; None while not restored.

    A rollback's request ends ``RolledBack`` in the pass that judged the undone rollout available, so its
    ``completedAt`` is when the previous version was available again. A change that ended ``Failed`` (rollback
    disabled or impossible, someone else changed the workload) is restored by the next request of the same workload
    that succeeded (a fix, or ``deployreq rollback``): its ``completedAt``.
    """
    detected = run.failure_detected or run.completed
    if detected is None or not failed_change(run):
        return None
    if run.phase == Phase.ROLLED_BACK:
        return max(0.0, (run.completed or detected) - detected)
    later = [
        r.completed
        for r in runs
        if r.namespace == run.namespace
        and (r.kind, r.workload) == (run.kind, run.workload)
        and r.phase == Phase.SUCCEEDED
        and r.completed is not None
        and r.completed >= detected
    ]
    return min(later) - detected if later else None


def active_window(run: Run, now: float) -> tuple[float, float] | None:
    """When the run held its namespace (started -> ended, or now while active); None if it did not run."""
    if run.started is None or run.phase == Phase.SUPERSEDED:
        return None
    if run.phase in ACTIVE:
        return run.started, now
    if run.completed is None or run.phase not in (
        Phase.SUCCEEDED,
        Phase.FAILED,
        Phase.ROLLED_BACK,
        Phase.CANCELLED,
    ):
        return None
    return run.started, run.completed


def overlapping_pairs(runs: Sequence[Run], now: float) -> int:
    """Pairs of runs of one namespace whose active windows overlap (one deploy at a time: expected 0)."""
    windows: dict[str, list[tuple[float, float]]] = {}
    for run in runs:
        window = active_window(run, now)
        if window is not None:
            windows.setdefault(run.namespace, []).append(window)
    pairs = 0
    for spans in windows.values():
        spans.sort()
        for i, (_, end) in enumerate(spans):
            pairs += sum(1 for start, _ in spans[i + 1 :] if start < end)
    return pairs


def _ended_in(run: Run, window: Window) -> bool:
    return (
        run.completed is not None and window.start <= run.completed <= window.end and run.phase not in ACTIVE
    )


def figures(group: Sequence[Run], every: Sequence[Run], window: Window) -> Figures:
    """The figures of ``group`` over ``window``; ``every`` is every run seen (a later fix restores a failure)."""
    ended = [r for r in group if _ended_in(r, window)]
    phases = Counter(r.phase for r in ended)
    succeeded, rolled_back, failed = (phases[p] for p in (Phase.SUCCEEDED, Phase.ROLLED_BACK, Phase.FAILED))
    decided = succeeded + rolled_back + failed
    changes = [
        r for r in ended if r.patched and r.phase in (Phase.SUCCEEDED, Phase.ROLLED_BACK, Phase.FAILED)
    ]
    failures = [r for r in changes if failed_change(r)]
    restored = [s for s in (restore_seconds(r, every) for r in failures) if s is not None]
    deployments = sum(1 for r in changes if r.phase == Phase.SUCCEEDED)
    manual = Counter(kind for r in ended for kind in r.manual)
    return Figures(
        requests=len(ended),
        succeeded=succeeded,
        rolled_back=rolled_back,
        failed=failed,
        failed_by_cause=dict(
            sorted(Counter(r.reason or "Unknown" for r in ended if r.phase == Phase.FAILED).items())
        ),
        cancelled=phases[Phase.CANCELLED],
        superseded=phases[Phase.SUPERSEDED],
        in_progress=sum(1 for r in group if r.phase in ACTIVE),
        success_rate=succeeded / decided if decided else None,
        changes=len(changes),
        failed_changes=len(failures),
        change_failure_rate=len(failures) / len(changes) if changes else None,
        deployments=deployments,
        deployment_frequency_per_day=deployments / window.days if window.days > 0 else None,
        restores=len(restored),
        unrestored=len(failures) - len(restored),
        time_to_restore_mean_seconds=mean(restored),
        time_to_restore_p90_seconds=p90(restored),
        time_to_detect_mean_seconds=mean(
            [r.failure_detected - r.patched_at for r in failures if r.failure_detected and r.patched_at]
        ),
        deploy_duration_mean_seconds=mean(
            [
                r.completed - r.started
                for r in changes
                if r.phase == Phase.SUCCEEDED and r.started and r.completed
            ]
        ),
        downtime_seconds=sum(r.down_seconds for r in ended),
        degraded_seconds=sum(r.degraded_seconds for r in ended),
        overlapping_deploys=overlapping_pairs(
            [r for r in group if _ended_in(r, window) or r.phase in ACTIVE], window.end
        ),
        manual_interventions=sum(1 for r in ended if r.manual),
        manual_by_kind={kind: manual[kind] for kind in MANUAL_KINDS},
    )


def window_of(runs: Sequence[Run], now: float, since: float | None) -> Window:
    """From ``since`` (or the oldest request seen) to ``now``."""
    oldest = min((r.created for r in runs if r.created), default=None)
    start = since if since is not None else (oldest if oldest is not None else now)
    return Window(start=min(start, now), end=now, oldest_request=oldest, since_given=since is not None)


def compute(runs: Sequence[Run], now: float, since: float | None = None) -> Report:
    """The report over ``runs`` (already narrowed to the namespaces and workload asked for)."""
    window = window_of(runs, now, since)
    by_ns: dict[str, list[Run]] = {}
    by_workload: dict[tuple[str, str, str], list[Run]] = {}
    for run in runs:
        by_ns.setdefault(run.namespace, []).append(run)
        by_workload.setdefault((run.namespace, run.kind, run.workload), []).append(run)
    return Report(
        window=window,
        total=figures(runs, runs, window),
        namespaces={ns: figures(group, runs, window) for ns, group in sorted(by_ns.items())},
        workloads={key: figures(group, runs, window) for key, group in sorted(by_workload.items())},
    )


def _rounded(value: object) -> object:
    return round(value, 3) if isinstance(value, float) else value


def figures_json(f: Figures) -> Obj:
    """The figures with snake_case keys, as ``deployreq report -o json`` prints them (docs/report.md)."""
    return {key: _rounded(value) for key, value in vars(f).items()}


def as_json(report: Report) -> Obj:
    w = report.window
    return {
        "window": {
            "start": times.rfc3339(w.start),
            "end": times.rfc3339(w.end),
            "seconds": round(w.end - w.start, 3),
            "days": round(w.days, 3),
            "oldest_request": times.rfc3339(w.oldest_request) if w.oldest_request is not None else None,
            "since_given": w.since_given,
        },
        "total": figures_json(report.total),
        "namespaces": [{"namespace": ns, **figures_json(f)} for ns, f in report.namespaces.items()],
        "workloads": [
            {"namespace": ns, "kind": kind, "workload": name, **figures_json(f)}
            for (ns, kind, name), f in report.workloads.items()
        ],
    }
