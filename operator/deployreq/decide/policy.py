"""What DeployPolicies allow (issue 19), as pure functions of the time, the request and the policies that govern it.

Every policy selecting a request's namespace applies, so the strictest wins: a request starts only when no freeze
of any policy holds it and every policy with windows has one open; it needs an approval when any policy asks; its
limits are the smallest of all. Times are aware datetimes; windows are read in their own time zones, so a window
follows daylight saving time as a wall clock does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from deployreq.api.model import Priority
from deployreq.api.policy import DeployPolicy, DeployWindow, NamespaceSelector, SelectorOperator
from deployreq.api.times import rfc3339

HORIZON = timedelta(days=8)
"""How far ahead the next opening is searched: every weekly window opens within a week."""


def parse_instant(epoch: float) -> datetime:
    """Epoch seconds as the aware UTC datetime these rules take."""
    return datetime.fromtimestamp(epoch, UTC)


def selects(selector: NamespaceSelector, labels: dict[str, str]) -> bool:
    """Whether a namespace with ``labels`` is selected (Kubernetes label-selector semantics; {} selects all)."""
    if any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return False
    for req in selector.match_expressions:
        present = req.key in labels
        match req.operator:
            case SelectorOperator.IN if not present or labels[req.key] not in req.values:
                return False
            case SelectorOperator.NOT_IN if present and labels[req.key] in req.values:
                return False
            case SelectorOperator.EXISTS if not present:
                return False
            case SelectorOperator.DOES_NOT_EXIST if present:
                return False
    return True


def governing(policies: Iterable[DeployPolicy], namespace_labels: dict[str, str]) -> list[DeployPolicy]:
    """The policies selecting a namespace, by name."""
    return sorted(
        (p for p in policies if selects(p.spec.namespace_selector, namespace_labels)), key=lambda p: p.name
    )


def _opening(window: DeployWindow, day: datetime) -> tuple[datetime, datetime] | None:
    """The window's interval on ``day``'s date in its zone, or None when it does not open that weekday."""
    if day.weekday() not in {d.weekday for d in window.days}:
        return None
    start, end = window.minutes()
    midnight = day.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + timedelta(minutes=start), midnight + timedelta(minutes=end)


def intervals(window: DeployWindow, now: datetime) -> list[tuple[datetime, datetime]]:
    """The window's intervals from the day before ``now`` to the horizon (in its zone, as aware datetimes)."""
    local = now.astimezone(ZoneInfo(window.time_zone))
    days = (local + timedelta(days=offset) for offset in range(-1, HORIZON.days + 1))
    return [interval for day in days if (interval := _opening(window, day)) is not None]


def windows_open(windows: Sequence[DeployWindow], at: datetime) -> bool:
    """No windows means any time; else ``at`` falls in one of them."""
    if not windows:
        return True
    return any(start <= at < end for window in windows for start, end in intervals(window, at))


def _freeze_holding(policy: DeployPolicy, at: datetime, priority: Priority) -> str | None:
    for freeze in policy.spec.freezes:
        if freeze.start <= at < freeze.end and not (freeze.allow_urgent and priority == Priority.URGENT):
            why = f" ({freeze.reason})" if freeze.reason else ""
            return f"frozen by policy {policy.name}{why} until {rfc3339(freeze.end.timestamp())}"
    return None


def holding(policies: Sequence[DeployPolicy], at: datetime, priority: Priority) -> str | None:
    """Why a request of ``priority`` may not start at ``at`` (naming the policy), or None when it may."""
    for policy in policies:
        frozen = _freeze_holding(policy, at, priority)
        if frozen:
            return frozen
    for policy in policies:
        if not windows_open(policy.spec.windows, at):
            return f"outside the deploy windows of policy {policy.name}"
    return None


def held_by(policies: Sequence[DeployPolicy], at: datetime, priority: Priority) -> tuple[str, str] | None:
    """Which policy holds a request back at ``at`` and how (``Frozen`` or ``OutsideWindow``), as :func:`holding`
    judges it; None when none does."""
    for policy in policies:
        if _freeze_holding(policy, at, priority):
            return policy.name, "Frozen"
    for policy in policies:
        if not windows_open(policy.spec.windows, at):
            return policy.name, "OutsideWindow"
    return None


def next_opening(windows: Sequence[DeployWindow], now: datetime) -> datetime | None:
    """When the next window opens after ``now`` (within a week); None without windows or without an opening."""
    starts = [start for window in windows for start, _ in intervals(window, now) if start > now]
    return min(starts, default=None)


def _candidates(policies: Sequence[DeployPolicy], now: datetime) -> list[datetime]:
    """The instants at which a hold can end: window openings and freeze ends, from now to the horizon."""
    times = {now}
    for policy in policies:
        times.update(f.end for f in policy.spec.freezes if f.end > now)
        for window in policy.spec.windows:
            times.update(start for start, _ in intervals(window, now) if start > now)
    return sorted(t for t in times if t < now + HORIZON)


@dataclass(frozen=True)
class StartRule:
    """Whether a request may start now; if not, why and the earliest time it may (None: not within a week)."""

    allowed: bool
    message: str = ""
    next_start: datetime | None = None


def may_start(policies: Sequence[DeployPolicy], now: datetime, priority: Priority) -> StartRule:
    """The start rule for a request of ``priority`` governed by ``policies`` (freezes and windows)."""
    reason = holding(policies, now, priority)
    if reason is None:
        return StartRule(True)
    later = next((t for t in _candidates(policies, now) if holding(policies, t, priority) is None), None)
    when = f"; starts at {rfc3339(later.timestamp())}" if later else "; no opening within a week"
    return StartRule(False, reason + when, later)


def approval_needed(policies: Sequence[DeployPolicy], priority: Priority) -> str | None:
    """The first policy requiring an approval for ``priority``, or None."""
    for policy in policies:
        rule = policy.spec.approval
        if rule.required and (not rule.priorities or priority in rule.priorities):
            return policy.name
    return None


Budget = tuple[str, int]


def budgets(policies: Sequence[DeployPolicy]) -> list[Budget]:
    """(policy, maxConcurrent) for each policy with a budget: a request needs a slot in each."""
    return [(p.name, p.spec.max_concurrent) for p in policies if p.spec.max_concurrent is not None]


def limit_violation(
    policies: Sequence[DeployPolicy],
    priority: Priority,
    verification_seconds: int,
    rollout_timeout_seconds: int,
) -> str | None:
    """What a request asks beyond a policy's limits (naming the policy, saying what to fix), or None."""
    for policy in policies:
        limits = policy.spec.limits
        if limits.allowed_priorities and priority not in limits.allowed_priorities:
            allowed = ", ".join(p.value for p in limits.allowed_priorities)
            return f"priority {priority.value} is not allowed by policy {policy.name} (allowed: {allowed})"
        cap = limits.max_verification_seconds
        if cap is not None and verification_seconds > cap:
            return f"verification of {verification_seconds}s exceeds policy {policy.name}'s limit of {cap}s"
        cap = limits.max_rollout_timeout_seconds
        if cap is not None and rollout_timeout_seconds > cap:
            return f"rollout timeout of {rollout_timeout_seconds}s exceeds policy {policy.name}'s limit of {cap}s"
    return None
