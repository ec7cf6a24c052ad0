"""Fault injection, seeded so a failing run replays: errors per verb and resource, latency, cut watches."""

from __future__ import annotations

import fnmatch
import random
import time
from dataclasses import dataclass, field
from typing import Any

from kubesim.api import errors

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass
class FaultRule:
    """Answer ``code`` to a share ``rate`` of matching requests (verb and resource globs, "write" = any write)."""

    code: int
    rate: float = 1.0
    verb: str = "*"
    resource: str = "*"
    retry_after: int = 1
    count: int | None = None  # stop after this many injections

    def matches(self, verb: str, resource: str) -> bool:
        verb_ok = (self.verb == "write" and verb in WRITE_VERBS) or fnmatch.fnmatch(verb, self.verb)
        return verb_ok and fnmatch.fnmatch(resource, self.resource)

    def error(self, resource: str) -> errors.ApiError:
        if self.code == 429:
            return errors.too_many_requests(self.retry_after)
        if self.code == 409:
            return errors.conflict(resource, "", "injected", "injected conflict")
        if self.code == 503:
            return errors.unavailable("injected: the server is currently unable to handle the request")
        return errors.internal("injected fault")


@dataclass(frozen=True)
class Decision:
    error: errors.ApiError | None = None
    delay: float = 0.0
    cut_after: int | None = None


@dataclass
class FaultPlan:
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    latency: float = 0.0
    latency_jitter: float = 0.0
    cut_watch_after_events: int | None = None
    injected: int = 0
    pause_until: float = 0.0
    """Until this time (epoch seconds) every request waits before it is answered: a server that stops answering."""

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def decide(self, verb: str, resource: str, subresource: str | None) -> Decision:
        delay = self.latency + (self.rng.random() * self.latency_jitter if self.latency_jitter else 0.0)
        delay = max(delay, self.pause_until - time.time())
        name = f"{resource}/{subresource}" if subresource else resource
        for rule in self.rules:
            if rule.count is not None and rule.count <= 0:
                continue
            if rule.matches(verb, name) and self.rng.random() < rule.rate:
                if rule.count is not None:
                    rule.count -= 1
                self.injected += 1
                return Decision(rule.error(resource), delay)
        cut = self.cut_watch_after_events if verb == "watch" else None
        return Decision(None, delay, cut)

    def configure(self, spec: dict[str, Any]) -> None:
        """Replace the plan from the admin endpoint's JSON."""
        if "seed" in spec:
            self.seed = int(spec["seed"])
            self.rng = random.Random(self.seed)
        self.rules = [FaultRule(**r) for r in spec.get("rules", [])]
        self.latency = float(spec.get("latency", 0.0))
        self.latency_jitter = float(spec.get("latencyJitter", 0.0))
        self.pause_until = time.time() + float(spec.get("pauseSeconds", 0.0))
        cut = spec.get("cutWatchAfterEvents")
        self.cut_watch_after_events = int(cut) if cut else None

    def describe(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "injected": self.injected,
            "latency": self.latency,
            "latencyJitter": self.latency_jitter,
            "cutWatchAfterEvents": self.cut_watch_after_events,
            "rules": [vars(r) for r in self.rules],
        }
