"""Carrying out decisions: status writes, the image patch, the undo patch, finalizers. No deciding happens here."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from deployreq import errors
from deployreq.api.change import StatusChange
from deployreq.api.names import FINALIZER, RUN_ANNOTATION
from deployreq.api.request import Request
from deployreq.cluster import kube
from deployreq.cluster.cache import Cache
from deployreq.cluster.events import Recorder
from deployreq.decide import progress, rollback, status, steps

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class Actions:
    def __init__(
        self, client: kube.Kube, cache: Cache, recorder: Recorder, wall: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self.cache = cache
        self.recorder = recorder
        self.wall = wall

    # --- the request ------------------------------------------------------------------------------------

    async def write_status(self, req: Request, change: StatusChange) -> Request:
        """Write ``change`` (only the fields that differ; conditions and history follow a phase change)."""
        after = status.apply(req.status, change, self.wall(), req.generation)
        patch = status.patch(req.status, after)
        if not patch:
            return req
        body = await self._status_patch(req, patch)
        self.cache.remember(body)
        return Request.parse(body)

    async def _status_patch(self, req: Request, patch: Obj) -> Obj:
        """Write ``patch`` only onto the copy of the request it was decided on (its resourceVersion).

        A 409 means the request changed since: another operator, a stopped process of ours resuming with a stale
        view, the gate publisher or the user wrote it. The fresh copy is read into the cache and the Conflict
        raised, so that the worker decides again instead of overwriting a newer status (a finished request moved
        back to Queued would run twice).
        """
        path = kube.request_path(req.namespace, req.name, "status")
        rv = req.resource_version
        body: Obj = {"metadata": {"resourceVersion": rv}, "status": patch} if rv else {"status": patch}
        try:
            return await self.client.patch(path, body)
        except errors.Conflict:
            await self.refresh(kube.request_path(req.namespace, req.name))
            raise

    async def refresh(self, path: str) -> None:
        """Read an object the operator judged on a stale copy of into the cache (a 404 forgets nothing)."""
        fresh = await self.client.get_or_none(path)
        if fresh is not None:
            self.cache.remember(fresh)

    async def set_finalizer(self, req: Request, present: bool) -> Request:
        if req.has_finalizer == present:
            return req
        finalizers = (
            [*req.finalizers, FINALIZER] if present else [f for f in req.finalizers if f != FINALIZER]
        )
        path = kube.request_path(req.namespace, req.name)
        body = (
            await self.client.patch(
                path,
                [
                    {"op": "test", "path": "/metadata/resourceVersion", "value": req.resource_version},
                    {
                        "op": "replace" if "finalizers" in req.body.get("metadata", {}) else "add",
                        "path": "/metadata/finalizers",
                        "value": finalizers,
                    },
                ],
                kube.JSON_PATCH,
            )
            if req.resource_version
            else await self.client.patch(path, {"metadata": {"finalizers": finalizers}})
        )
        if body.get("metadata", {}).get("deletionTimestamp") and not body["metadata"].get("finalizers"):
            self.cache.forget(req.uid)
        else:
            self.cache.remember(body)
        return Request.parse(body)

    async def delete_finished(self, req: Request) -> None:
        """Delete a finished request being pruned, only as it was judged: a request changed since (re-run, new spec)
        is refused by the server (409) and kept; one already gone is fine; any other refusal is logged, not raised."""
        path = kube.request_path(req.namespace, req.name)
        try:
            await self.client.delete(path, {"uid": req.uid, "resourceVersion": req.resource_version})
        except (errors.NotFound, errors.Conflict) as exc:
            log.info("%s: not pruned: %s", req.ref, exc)
            return
        except errors.ApiError as exc:
            # e.g. a ClusterRole without delete: pruning must never stop the namespace's work.
            log.warning("%s: not pruned: %s", req.ref, exc)
            return
        self.cache.forget(req.uid)

    # --- the Deployment ---------------------------------------------------------------------------------

    async def patch_images(self, req: Request, step: steps.Patch, seen_rv: str) -> Obj:
        """The image patch, only onto the Deployment as it was judged (``seen_rv``): a patch decided before this
        process stopped, sent after another operator took the lock and changed the Deployment, is refused (409)."""
        body = rollback.image_patch(step.images, progress.change_cause(req))
        body["metadata"]["annotations"][RUN_ANNOTATION] = progress.run_id(req)
        if seen_rv:
            body["metadata"]["resourceVersion"] = seen_rv
        result = await self.client.patch(
            kube.deployment_path(req.namespace, req.deployment),
            body,
            kube.STRATEGIC_MERGE_PATCH,
            params={"fieldManager": "deployreq"},
        )
        self.cache.remember(result)
        self.recorder.record(
            result,
            "ImagesPatched",
            f"deployreq {req.ref}: " + ", ".join(f"{c}={i}" for c, i in step.images.items()),
        )
        return result

    async def undo(self, req: Request, ops: list[Obj]) -> Obj:
        result = await self.client.patch(
            kube.deployment_path(req.namespace, req.deployment),
            ops,
            kube.JSON_PATCH,
            params={"fieldManager": "deployreq"},
        )
        self.cache.remember(result)
        self.recorder.record(
            result, "RolledBack", f"deployreq {req.ref} rolled the Deployment back", warning=True
        )
        return result
