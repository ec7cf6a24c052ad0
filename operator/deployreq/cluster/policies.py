"""The DeployPolicies and Namespaces as the operator's informers mirror them, and which policies govern a namespace.

Each policy body is parsed once per spec (``api/policy.parse``). A policy the model refuses (the schema
refuses nearly everything at admission; an unknown time zone is only found here) is ignored and logged once per
spec, and ``deployreq policy`` shows it as invalid with the same message.
"""

from __future__ import annotations

import logging
from typing import Any

from deployreq.api import policy as api
from deployreq.api.policy import DeployPolicy
from deployreq.cluster.informer import Mirror
from deployreq.decide import policy as rules

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def slim_namespace(body: Obj) -> Obj:
    """A Namespace as kept in memory: its name, labels and resourceVersion (the selectors read nothing else)."""
    meta = body.get("metadata") or {}
    keep = {k: meta[k] for k in ("name", "labels", "resourceVersion", "uid") if k in meta}
    return {"metadata": keep}


class Policies:
    """The mirrors of DeployPolicies and Namespaces, and the parsed policies."""

    def __init__(self) -> None:
        self.mirror = Mirror()
        self.namespaces = Mirror()
        self._parsed: dict[str, tuple[Obj, DeployPolicy | str]] = {}  # name -> (spec, parsed)
        self._specs: dict[str, Obj] = {}  # name -> the spec when specs_changed() last looked

    def _parse(self, body: Obj) -> DeployPolicy | str:
        name = str((body.get("metadata") or {}).get("name") or "")
        spec = body.get("spec") or {}
        known = self._parsed.get(name)
        if known is not None and known[0] == spec:  # a status write changes nothing the policy decides
            return known[1]
        parsed = api.parse(body)
        if isinstance(parsed, str):
            log.warning("DeployPolicy %s is invalid and ignored: %s", name, parsed)
        self._parsed[name] = (spec, parsed)
        return parsed

    def specs_changed(self) -> bool:
        """Whether a policy was added, removed or its spec changed since the last call (not only its status, which
        the operator itself writes: that changes no decision)."""
        specs = {str(b["metadata"]["name"]): b.get("spec") or {} for b in self.mirror.in_namespace("")}
        changed, self._specs = specs != self._specs, specs
        return changed

    def every(self) -> list[tuple[Obj, DeployPolicy | str]]:
        """Every policy object with what it parsed to (a message when invalid), by name."""
        bodies = sorted(self.mirror.in_namespace(""), key=lambda b: str(b["metadata"]["name"]))
        return [(body, self._parse(body)) for body in bodies]

    def all(self) -> list[DeployPolicy]:
        """The valid policies, by name."""
        parsed = (self._parse(body) for body in self.mirror.in_namespace(""))
        return sorted((p for p in parsed if not isinstance(p, str)), key=lambda p: p.name)

    def labels(self, namespace: str) -> dict[str, str]:
        body = self.namespaces.get("", namespace) or {}
        return dict((body.get("metadata") or {}).get("labels") or {})

    def governing(self, namespace: str) -> list[DeployPolicy]:
        """The valid policies selecting ``namespace`` (all apply: the strictest wins)."""
        policies = self.all()
        return rules.governing(policies, self.labels(namespace)) if policies else []
