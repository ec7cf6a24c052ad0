"""The DeployPolicies and Namespaces as the operator's informers mirror them, and which policies govern a namespace.

Each policy body is parsed once per resourceVersion (``api/policy.parse``). A policy the model refuses (the schema
refuses nearly everything at admission; an unknown time zone is only found here) is ignored and logged once per
version, and ``deployreq policy`` shows it as invalid with the same message.
"""

from __future__ import annotations

import logging
from typing import Any

from deployreq.api import policy as api
from deployreq.api.policy import DeployPolicy
from deployreq.cluster.informer import Mirror, kube_rv
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
        self._parsed: dict[str, tuple[str, DeployPolicy | str]] = {}  # name -> (resourceVersion, parsed)

    def _parse(self, body: Obj) -> DeployPolicy | str:
        name = str((body.get("metadata") or {}).get("name") or "")
        rv = kube_rv(body)
        known = self._parsed.get(name)
        if known is not None and known[0] == rv:
            return known[1]
        parsed = api.parse(body)
        if isinstance(parsed, str):
            log.warning("DeployPolicy %s is invalid and ignored: %s", name, parsed)
        self._parsed[name] = (rv, parsed)
        return parsed

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
