"""Driving a request of several workloads (``spec.workloads``): its world read from the cache, the decision asked of
:mod:`deployreq.decide.release`, and the writes carried out (the steps every run shares by the
:class:`~deployreq.engine.drive.Driver`).

The fencing rules are the one-Deployment path's: a workload's image patch names the resourceVersion judged, a
Deployment's undo is guarded by the generation judged, a StatefulSet's or DaemonSet's undo (a strategic merge patch,
as kubectl sends it) by the resourceVersion judged; before any workload write the lock must be held and fresh.
"""

from __future__ import annotations

from collections.abc import Callable

from deployreq import errors
from deployreq.api.names import RUN_ANNOTATION
from deployreq.api.request import Request
from deployreq.api.workload import WorkloadKind, WorkloadSpec
from deployreq.cluster import kube
from deployreq.decide import kinds, progress, rollback, rollout, semantic
from deployreq.decide import release as decide
from deployreq.decide import release_steps as rs
from deployreq.engine import world
from deployreq.engine.context import Context
from deployreq.engine.drive import Driver, generation_of


def view_of(ctx: Context, namespace: str, target: WorkloadSpec) -> kinds.View:
    """One workload as the cache shows it: with its ReplicaSets and new pods, or its ControllerRevisions and pods."""
    cache = ctx.cache
    obj = cache.workload(namespace, target.kind.value, target.name)
    if obj is None:
        return kinds.View(target, None)
    uid = str((obj.get("metadata") or {}).get("uid") or "")
    if target.kind == WorkloadKind.DEPLOYMENT:
        owned = cache.replicasets_of(namespace, uid)
        new_rs = rollout.new_replicaset(obj, owned)
        pods = cache.pods_of(namespace, {new_rs["metadata"]["uid"]}) if new_rs else []
        return kinds.View(target, obj, owned, pods)
    return kinds.View(target, obj, cache.revisions_of(namespace, uid), cache.pods_of(namespace, {uid}))


class Releases:
    """Runs the namespace's requests of several workloads; owned by its worker."""

    def __init__(
        self, ctx: Context, driver: Driver, limits: semantic.Limits, thresholds: rollout.Thresholds
    ) -> None:
        self.ctx = ctx
        self.driver = driver
        self.limits = limits
        self.thresholds = thresholds

    def observe(self, req: Request, wake: Callable[[], None]) -> decide.ReleaseWorld:
        base = world.without_workload(self.ctx, req, self.limits, wake)
        targets = req.targets
        mirrored = True
        if self.ctx.kinds_ready is not None and any(t.kind != WorkloadKind.DEPLOYMENT for t in targets):
            mirrored = self.ctx.kinds_ready(wake)
        views = [view_of(self.ctx, req.namespace, t) for t in targets] if mirrored else []
        return decide.ReleaseWorld(base, views, mirrored)

    async def drive(self, req: Request, wake: Callable[[], None]) -> bool:
        """One step of ``req``; True when it changed something and the next decision may follow at once."""
        now = self.ctx.wall()
        seen = self.observe(req, wake)
        step = decide.next_step(req, seen, now, self.thresholds)
        match step:
            case rs.Record():
                req = await self.ctx.actions.write_status(req, step.status)
                if step.note is not None:
                    self.driver.record(req, step.note)
                return True
            case rs.PatchWorkload():
                return await self._patch(req, step)
            case rs.UndoWorkload():
                return await self._undo(req, step)
            case _:
                return await self.driver.carry(req, step, seen.base, now)

    async def _patch(self, req: Request, step: rs.PatchWorkload) -> bool:
        actions = self.ctx.actions
        if not req.has_finalizer:
            req = await actions.set_finalizer(req, True)
        req = await actions.write_status(req, step.before_change)
        if not await self.driver.holding():
            return False
        target = step.target
        path = kube.workload_path(req.namespace, target.kind.value, target.name)
        body = rollback.image_patch(step.images, progress.change_cause(req))
        body["metadata"]["annotations"][RUN_ANNOTATION] = progress.run_id(req)
        if step.seen_rv:
            body["metadata"]["resourceVersion"] = step.seen_rv
        try:
            result = await self.ctx.client.patch(
                path, body, kube.STRATEGIC_MERGE_PATCH, params={"fieldManager": "deployreq"}
            )
        except errors.Conflict:  # the workload changed since it was judged: judge it again
            await actions.refresh(path)
            self.driver.wake()
            return False
        self.ctx.cache.remember(result)
        images = ", ".join(f"{c}={i}" for c, i in step.images.items())
        self.ctx.recorder.record(result, "ImagesPatched", f"deployreq {req.ref}: {images}")
        recorded = rs.PatchWorkload(target, step.seen_rv, step.before, req).recorded(
            generation_of(result), self.ctx.wall()
        )
        req = await actions.write_status(req, recorded)
        self.driver.record(req, step.note)
        return True

    async def _undo(self, req: Request, step: rs.UndoWorkload) -> bool:
        if not await self.driver.holding():
            return False
        plan = step.plan
        generation = step.seen_generation
        if not plan.skipped and plan.body is not None:
            target = step.target
            path = kube.workload_path(req.namespace, target.kind.value, target.name)
            if plan.json_patch:
                guard = [{"op": "test", "path": "/metadata/generation", "value": step.seen_generation}]
                body: object = guard + list(plan.body if isinstance(plan.body, list) else [])
                content_type = kube.JSON_PATCH
            else:
                merged = dict(plan.body) if isinstance(plan.body, dict) else {}
                body = {**merged, "metadata": {"resourceVersion": step.seen_rv}}
                content_type = kube.STRATEGIC_MERGE_PATCH
            try:
                result = await self.ctx.client.patch(
                    path, body, content_type, params={"fieldManager": "deployreq"}
                )
            except (errors.Invalid, errors.Conflict):
                # Moved on since judged (our own undo, sent just before a crash, may land after a restart read a
                # stale view): read it again and decide on what it shows, never undo twice.
                await self.ctx.actions.refresh(path)
                self.driver.wake_at(self.ctx.wall() + 0.2)
                return False
            self.ctx.cache.remember(result)
            self.ctx.recorder.record(
                result, "RolledBack", f"deployreq {req.ref} rolled {target.ref} back", warning=True
            )
            generation = generation_of(result)
        recorded = rs.UndoWorkload(step.target, plan, step.seen_generation, step.seen_rv, req)
        await self.ctx.actions.write_status(req, recorded.recorded(generation, self.ctx.wall()))
        return True
