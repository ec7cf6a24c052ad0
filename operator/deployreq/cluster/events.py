"""Kubernetes Events on requests and Deployments, posted in the background so they never delay a request."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from deployreq import errors
from deployreq.api.times import rfc3339
from deployreq.cluster import kube

log = logging.getLogger(__name__)

COMPONENT = "deployreq"


def event_body(obj: dict[str, Any], reason: str, message: str, type_: str, instance: str) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    now = rfc3339(time.time())
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta.get('name', 'object')}.", "namespace": meta.get("namespace")},
        "involvedObject": {
            "apiVersion": obj.get("apiVersion"),
            "kind": obj.get("kind"),
            "name": meta.get("name"),
            "namespace": meta.get("namespace"),
            "uid": meta.get("uid"),
        },
        "reason": reason,
        "message": message[:1024],
        "type": type_,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": instance,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


class Recorder:
    def __init__(self, client: kube.Kube, instance: str) -> None:
        self.client = client
        self.instance = instance
        self._tasks: set[asyncio.Task[None]] = set()

    def record(self, obj: dict[str, Any], reason: str, message: str, warning: bool = False) -> None:
        body = event_body(obj, reason, message, "Warning" if warning else "Normal", self.instance)
        task = asyncio.create_task(self._post(body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, body: dict[str, Any]) -> None:
        try:
            await self.client.create(kube.events_path(body["metadata"]["namespace"]), body)
        except errors.ApiError as exc:
            log.warning("could not post event %s: %s", body["reason"], exc.reason)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
