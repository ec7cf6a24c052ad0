"""What a DeployPolicy's status shows (``kubectl get deploypolicies``), as a pure function of the policy, the
namespaces' labels, the active requests per namespace and the time; and when that view next changes by time alone
(a window or a freeze beginning or ending), so the operator sets a timer for that instant instead of polling.

``open`` judges this policy alone for a request of priority ``normal`` (its windows and freezes; the budget is shown
as ``active`` against ``maxConcurrent``). Several policies on one namespace all apply: the strictest wins
(docs/policy.md), so a namespace's requests start only when every policy selecting it is open and has a free slot.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from deployreq.api.model import Priority
from deployreq.api.policy import DeployPolicy, NamespaceSelector
from deployreq.api.policy_status import SHOWN_NAMESPACES, VALID, DeployPolicyStatus, PolicyCondition
from deployreq.api.times import rfc3339
from deployreq.decide import policy as rules

Obj = dict[str, Any]
MESSAGE_LIMIT = 1024


@dataclass(frozen=True)
class Seen:
    """One DeployPolicy as the operator sees it: parsed (or why it is invalid), its selector when that alone parses,
    its generation and the status it shows now."""

    name: str
    policy: DeployPolicy | str
    selector: NamespaceSelector | None
    generation: int | None
    shown: Obj


@dataclass(frozen=True)
class Shown:
    """The status to show (the JSON of ``status``) and when it next changes by time alone (None: only on events)."""

    status: Obj
    next_change: datetime | None


def seen_of(body: Obj, parsed: DeployPolicy | str) -> Seen:
    """A DeployPolicy object as the API returns it, and what :func:`deployreq.api.policy.parse` made of it."""
    meta = body.get("metadata") or {}
    selector: NamespaceSelector | None = None
    if not isinstance(parsed, str):
        selector = parsed.spec.namespace_selector
    else:  # the policy is ignored, but whom it would select is still worth showing
        with contextlib.suppress(ValidationError):
            selector = NamespaceSelector.model_validate((body.get("spec") or {}).get("namespaceSelector"))
    generation = meta.get("generation")
    return Seen(
        name=str(meta.get("name") or ""),
        policy=parsed,
        selector=selector,
        generation=generation if isinstance(generation, int) else None,
        shown=body.get("status") or {},
    )


def selected(selector: NamespaceSelector | None, namespaces: Mapping[str, Mapping[str, str]]) -> list[str]:
    """The namespaces the selector selects, by name."""
    if selector is None:
        return []
    return sorted(name for name, labels in namespaces.items() if rules.selects(selector, dict(labels)))


def _edges(policy: DeployPolicy, now: datetime) -> list[datetime]:
    """Every instant after ``now`` at which a window or a freeze of the policy begins or ends (windows up to the
    horizon: every weekly window recurs within it)."""
    times: set[datetime] = set()
    for freeze in policy.spec.freezes:
        times.update(t for t in (freeze.start, freeze.end) if t > now)
    for window in policy.spec.windows:
        for start, end in rules.intervals(window, now):
            times.update(t for t in (start, end) if t > now)
    return sorted(times)


def _is_open(policy: DeployPolicy, at: datetime) -> bool:
    return rules.holding([policy], at, Priority.NORMAL) is None


def _fits(message: str) -> str:
    """A message within the schema's 1024 characters."""
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 3] + "..."


def _valid(seen: Seen, now: datetime) -> PolicyCondition:
    """The Valid condition; its lastTransitionTime kept while its status stays."""
    status: Literal["True", "False"] = "True"
    reason, message = "Valid", "The operator applies this policy."
    if isinstance(seen.policy, str):
        reason = "UnknownTimeZone" if "unknown time zone" in seen.policy else "InvalidSpec"
        status, message = "False", _fits(f"{seen.policy}; the operator ignores this policy")
    before = next((c for c in seen.shown.get("conditions") or [] if c.get("type") == VALID), None)
    since = before.get("lastTransitionTime") if before and before.get("status") == status else None
    return PolicyCondition(
        type=VALID,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=since or rfc3339(now.timestamp()),
        observed_generation=seen.generation,
    )


def show(
    seen: Seen, namespaces: Mapping[str, Mapping[str, str]], active: Mapping[str, int], now: datetime
) -> Shown:
    """The status of one policy at ``now``: ``namespaces`` maps every namespace to its labels, ``active`` counts the
    active requests of each namespace."""
    names = selected(seen.selector, namespaces)
    status = DeployPolicyStatus(
        observed_generation=seen.generation,
        namespaces=names[:SHOWN_NAMESPACES],
        namespace_count=len(names),
        active=sum(active.get(name, 0) for name in names),
        conditions=[_valid(seen, now)],
    )
    policy, next_change = seen.policy, None
    if not isinstance(policy, str):
        rule = rules.may_start([policy], now, Priority.NORMAL)
        is_open = rule.allowed
        edges = _edges(policy, now)
        flip = next((t for t in edges if _is_open(policy, t) != is_open), None)
        opening = rules.next_opening(policy.spec.windows, now)
        status.open = is_open
        status.message = "" if is_open else _fits(rule.message)
        status.next_change = rfc3339(flip.timestamp()) if flip else None
        status.next_window_opens = rfc3339(opening.timestamp()) if opening else None
        next_change = edges[0] if edges else None
    return Shown(status.model_dump(by_alias=True, exclude_none=True), next_change)


def patch_of(status: Obj) -> Obj:
    """A merge patch of ``/status`` that leaves exactly ``status``: the fields it lacks are removed."""
    every = {field.alias or name: None for name, field in DeployPolicyStatus.model_fields.items()}
    return {"status": {**every, **status}}
