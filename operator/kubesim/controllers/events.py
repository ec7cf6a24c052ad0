"""Events the simulated controllers record, shaped as a real cluster's core/v1 Events (so `kubectl describe` and
`kubectl get events` show them)."""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

from kubesim.api import errors
from kubesim.storage.objects import now_rfc3339
from kubesim.storage.store import Store

log = logging.getLogger(__name__)
Obj = dict[str, Any]
_sequence = itertools.count()


def record(store: Store, obj: Obj, reason: str, message: str, component: str, type_: str = "Normal") -> None:
    """Create one Event about ``obj``; a failure is logged, never raised (events are best effort, as in client-go)."""
    meta = obj["metadata"]
    stamp = now_rfc3339(store.clock)
    # Like client-go: the object's name, a dot, and a hex timestamp (made unique within this process).
    name = f"{meta['name']}.{time.time_ns() + next(_sequence):x}"
    event: Obj = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": meta.get("namespace", "default")},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion", ""),
            "kind": obj.get("kind", ""),
            "name": meta["name"],
            "namespace": meta.get("namespace", ""),
            "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "type": type_,
        "reportingComponent": component,
        "reportingInstance": "",
    }
    try:
        store.create(store.require("", "events"), meta.get("namespace", "default"), event)
    except errors.ApiError as exc:
        log.debug("event %s on %s not recorded: %s", reason, meta["name"], exc)
