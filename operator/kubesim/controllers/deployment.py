"""The Deployment controller: ReplicaSets per template, rolling updates, revisions, status and conditions
(kubernetes pkg/controller/deployment/{sync,rolling,recreate,progress}.go)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubesim.api.resources import ResourceType
from kubesim.api.selectors import matches_label_selector
from kubesim.controllers import deployment_math as dm
from kubesim.controllers import deployment_status as ds
from kubesim.controllers import events
from kubesim.controllers.base import Key, OwnerController, controller_ref, key_of, owner_reference
from kubesim.storage.objects import clone, now_rfc3339
from kubesim.storage.store import Store
from kubesim.storage.watch import Event

Obj = dict[str, Any]


class DeploymentController(OwnerController):
    name = "deployment"
    owner = ("apps", "deployments")
    owner_kind = "Deployment"
    child = ("apps", "replicasets")

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.pods = store.require("", "pods")

    def on_event(self, rt: ResourceType, event: Event) -> None:
        super().on_event(rt, event)
        if rt.key == self.child and event.type != "DELETED" and controller_ref(event.object) is None:
            # An orphan: every Deployment whose selector matches may adopt it.
            labels = event.object["metadata"].get("labels") or {}
            for dep in self.store.iter(self.owners, event.object["metadata"].get("namespace", "")):
                if (dep["spec"].get("selector") or {}) and matches_label_selector(
                    dep["spec"]["selector"], labels
                ):
                    self.enqueue(key_of(dep))
        elif rt.key == ("", "pods") and event.type == "DELETED":
            ref = controller_ref(event.object)
            if ref and ref.get("kind") == "ReplicaSet":
                rs = self.store.peek(self.children, event.object["metadata"].get("namespace"), ref["name"])
                owner = controller_ref(rs) if rs else None
                if owner:
                    self.enqueue((event.object["metadata"].get("namespace", ""), owner["name"]))

    # --- sync -------------------------------------------------------------------------------------------

    def _owned(self, dep: Obj) -> list[Obj]:
        """The Deployment's ReplicaSets, adopting orphans its selector matches (ClaimReplicaSets)."""
        uid = dep["metadata"]["uid"]
        ns = dep["metadata"].get("namespace")
        selector = dep["spec"].get("selector") or {}
        owned = []
        for rs in list(self.store.iter(self.children, ns)):
            if rs["metadata"].get("deletionTimestamp"):
                continue
            ref = controller_ref(rs)
            if ref is not None and ref.get("uid") == uid:
                owned.append(rs)
            elif (
                ref is None
                and selector
                and matches_label_selector(selector, rs["metadata"].get("labels") or {})
            ):
                adopted = clone(rs)
                adopted["metadata"]["ownerReferences"] = [
                    *(rs["metadata"].get("ownerReferences") or []),
                    owner_reference(dep),
                ]
                owned.append(self.store.update(self.children, ns, rs["metadata"]["name"], adopted))
        return owned

    def sync(self, key: Key) -> None:
        dep = self.live_owner(key)
        if dep is None:
            return
        all_rs = self._owned(dep)
        template = dm.without_hash(dep["spec"]["template"])
        matching = [rs for rs in all_rs if dm.without_hash(rs["spec"]["template"]) == template]
        new_rs = (
            min(matching, key=lambda r: (r["metadata"]["creationTimestamp"], r["metadata"]["name"]))
            if matching
            else None
        )
        old_rs = [rs for rs in all_rs if rs is not new_rs]
        paused = bool(dep["spec"].get("paused"))
        created = False
        if new_rs is not None:
            new_rs = self._ensure_revision(dep, new_rs, old_rs)
        if paused or dm.is_scaling_event(dep, [*([new_rs] if new_rs else []), *old_rs]):
            # sync(): a paused Deployment or a changed spec.replicas only scales (proportionally), no rollout.
            self._proportional_scale(dep, new_rs, old_rs)
            if paused:
                self._cleanup(dep, old_rs)
            self._status(dep, new_rs, old_rs, created=False)
            return
        if new_rs is None:
            new_rs = self._create_rs(dep, all_rs)
            created = True
            all_rs = [*all_rs, new_rs]
        if (dep["spec"].get("strategy") or {}).get("type") == "Recreate":
            self._recreate(dep, new_rs, old_rs)
        else:
            self._rolling(dep, new_rs, old_rs)
        self._cleanup(dep, old_rs)
        self._status(dep, new_rs, old_rs, created)

    def _create_rs(self, dep: Obj, all_rs: list[Obj]) -> Obj:
        collisions = int((dep.get("status") or {}).get("collisionCount") or 0)
        template = dm.without_hash(clone(dep["spec"]["template"]))
        while True:
            pod_hash = dm.template_hash(template, collisions)
            name = f"{dep['metadata']['name']}-{pod_hash}"
            if self.store.peek(self.children, dep["metadata"]["namespace"], name) is None:
                break
            collisions += 1
        if collisions != int((dep.get("status") or {}).get("collisionCount") or 0):
            status_dep = clone(dep)
            status_dep.setdefault("status", {})["collisionCount"] = collisions
            self.store.update(
                self.owners,
                dep["metadata"]["namespace"],
                dep["metadata"]["name"],
                status_dep,
                subresource="status",
            )
        surge = dm.max_surge(dep)
        replicas = int(dep["spec"].get("replicas", 1))
        revision = max((dm.revision(rs) for rs in all_rs), default=0) + 1
        labels = {**(template["metadata"].get("labels") or {}), dm.HASH_LABEL: pod_hash}
        template["metadata"]["labels"] = labels
        selector = clone(dep["spec"]["selector"])
        selector.setdefault("matchLabels", {})[dm.HASH_LABEL] = pod_hash
        annotations = {
            k: v
            for k, v in (dep["metadata"].get("annotations") or {}).items()
            if k not in dm.SKIPPED_ANNOTATIONS
        }
        annotations.update(
            {dm.REVISION: str(revision), dm.DESIRED: str(replicas), dm.MAX_REPLICAS: str(replicas + surge)}
        )
        rs: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": dep["metadata"]["namespace"],
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [owner_reference(dep)],
            },
            "spec": {
                "replicas": 0,
                "selector": selector,
                "template": template,
            },
        }
        if int(
            dep["spec"].get("minReadySeconds", 0)
        ):  # omitempty: 0 is absent, as the real controller writes it
            rs["spec"]["minReadySeconds"] = int(dep["spec"]["minReadySeconds"])
        created = self.store.create(self.children, dep["metadata"]["namespace"], rs)
        self._set_deployment_revision(dep, revision)
        return created

    def _ensure_revision(self, dep: Obj, new_rs: Obj, old_rs: list[Obj]) -> Obj:
        """Annotations of the new ReplicaSet follow the Deployment; a reused old one gets the next revision."""
        max_old = max((dm.revision(rs) for rs in old_rs), default=0)
        current = dm.revision(new_rs)
        annotations = dict(new_rs["metadata"].get("annotations") or {})
        wanted = dict(annotations)
        for key, value in (dep["metadata"].get("annotations") or {}).items():
            if key not in dm.SKIPPED_ANNOTATIONS:
                wanted[key] = value
        if current <= max_old:
            history = [h for h in (annotations.get(dm.REVISION_HISTORY) or "").split(",") if h]
            if current:
                history.append(str(current))
            wanted[dm.REVISION] = str(max_old + 1)
            wanted[dm.REVISION_HISTORY] = ",".join(history)
        min_ready = int(dep["spec"].get("minReadySeconds", 0))
        if wanted != annotations or int(new_rs["spec"].get("minReadySeconds", 0)) != min_ready:
            rs = clone(new_rs)
            rs["metadata"]["annotations"] = wanted
            if min_ready:
                rs["spec"]["minReadySeconds"] = min_ready
            else:
                rs["spec"].pop("minReadySeconds", None)
            new_rs = self.store.update(self.children, rs["metadata"]["namespace"], rs["metadata"]["name"], rs)
        self._set_deployment_revision(dep, dm.revision(new_rs))
        return new_rs

    def _set_deployment_revision(self, dep: Obj, revision: int) -> None:
        current = self.store.peek(self.owners, dep["metadata"]["namespace"], dep["metadata"]["name"])
        if current is None or dm.revision(current) == revision:
            return
        updated = clone(current)
        updated["metadata"].setdefault("annotations", {})[dm.REVISION] = str(revision)
        # Through /status, as the real controller does: annotations change, generation does not.
        self.store.update(
            self.owners,
            updated["metadata"]["namespace"],
            updated["metadata"]["name"],
            updated,
            subresource="status",
        )

    def _scale(self, dep: Obj, rs: Obj, replicas: int, refresh: bool = False) -> Obj:
        """Scale a ReplicaSet; as in the real scaleReplicaSet, a scaled one also gets the Deployment's
        desired-replicas and max-replicas annotations (with ``refresh``, even when its size stays)."""
        desired = int(dep["spec"].get("replicas", 1))
        wanted = {dm.DESIRED: str(desired), dm.MAX_REPLICAS: str(desired + dm.max_surge(dep))}
        annotations = rs["metadata"].get("annotations") or {}
        stale = any(annotations.get(k) != v for k, v in wanted.items())
        if dm.spec_replicas(rs) == replicas and not (refresh and stale):
            return rs
        current = self.store.peek(self.children, rs["metadata"]["namespace"], rs["metadata"]["name"])
        if current is None:
            return rs
        updated = clone(current)
        updated["spec"]["replicas"] = replicas
        updated["metadata"].setdefault("annotations", {}).update(wanted)
        result = self.store.update(
            self.children, rs["metadata"]["namespace"], rs["metadata"]["name"], updated
        )
        before = dm.spec_replicas(current)
        if before != replicas:
            direction = "up" if replicas > before else "down"
            message = f"Scaled {direction} replica set {rs['metadata']['name']} from {before} to {replicas}"
            events.record(self.store, dep, "ScalingReplicaSet", message, "deployment-controller")
        return result

    def _proportional_scale(self, dep: Obj, new_rs: Obj | None, old_rs: list[Obj]) -> None:
        """scale() in sync.go: one active ReplicaSet takes the whole size; a saturated new one empties the old
        ones; otherwise a RollingUpdate spreads the change over the active ones by their share of max-replicas."""
        replicas = int(dep["spec"].get("replicas", 1))
        latest = dm.active_or_latest(new_rs, old_rs)
        if latest is not None:
            self._scale(dep, latest, replicas, refresh=True)
            return
        if new_rs is not None and dm.is_saturated(dep, new_rs):
            for rs in old_rs:
                if dm.spec_replicas(rs) > 0:
                    self._scale(dep, rs, 0)
            return
        if (dep["spec"].get("strategy") or {}).get("type") == "Recreate":
            return
        active = [rs for rs in [*old_rs, *([new_rs] if new_rs else [])] if dm.spec_replicas(rs) > 0]
        for rs, size in dm.proportional_sizes(dep, active):
            self._scale(dep, rs, size, refresh=True)

    def _rolling(self, dep: Obj, new_rs: Obj, old_rs: list[Obj]) -> None:
        replicas = int(dep["spec"].get("replicas", 1))
        all_rs = [new_rs, *old_rs]
        target = dm.new_replicas(dep, all_rs, new_rs)
        new_rs = self._scale(dep, new_rs, target)
        if not any(dm.spec_replicas(rs) for rs in old_rs):
            return
        _, max_unavailable = dm.surge_and_unavailable(dep)
        min_available = replicas - max_unavailable
        all_rs = [new_rs, *old_rs]
        all_pods = sum(dm.spec_replicas(rs) for rs in all_rs)
        new_unavailable = dm.spec_replicas(new_rs) - int(
            (new_rs.get("status") or {}).get("availableReplicas", 0)
        )
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return
        # First old replicas that are not available anyway, then available ones down to minAvailable.
        for rs in sorted(old_rs, key=lambda r: r["metadata"]["creationTimestamp"]):
            if max_scaled_down <= 0:
                break
            unhealthy = dm.spec_replicas(rs) - int((rs.get("status") or {}).get("availableReplicas", 0))
            cut = min(max_scaled_down, max(0, unhealthy))
            if cut:
                self._scale(dep, rs, dm.spec_replicas(rs) - cut)
                max_scaled_down -= cut
        old_rs = [
            self.store.peek(self.children, r["metadata"]["namespace"], r["metadata"]["name"]) or r
            for r in old_rs
        ]
        available = sum(int((rs.get("status") or {}).get("availableReplicas", 0)) for rs in [new_rs, *old_rs])
        budget = min(available - min_available, max_scaled_down)
        for rs in sorted(old_rs, key=lambda r: r["metadata"]["creationTimestamp"]):
            if budget <= 0:
                break
            cut = min(budget, dm.spec_replicas(rs))
            if cut:
                self._scale(dep, rs, dm.spec_replicas(rs) - cut)
                budget -= cut

    def _recreate(self, dep: Obj, new_rs: Obj, old_rs: list[Obj]) -> None:
        for rs in old_rs:
            self._scale(dep, rs, 0)
        if any(int((rs.get("status") or {}).get("replicas", 0)) for rs in old_rs):
            return  # wait until the old pods are gone
        ns = dep["metadata"]["namespace"]
        old_uids = {rs["metadata"]["uid"] for rs in old_rs}
        if any((controller_ref(p) or {}).get("uid") in old_uids for p in self.store.iter(self.pods, ns)):
            return
        self._scale(dep, new_rs, int(dep["spec"].get("replicas", 1)))

    def _cleanup(self, dep: Obj, old_rs: list[Obj]) -> None:
        """cleanupDeployment: of the old ReplicaSets beyond ``revisionHistoryLimit``, lowest revisions first, the
        idle ones are deleted (busy ones still count against the limit). Runs only once the rollout completed (as
        last recorded) or while paused."""
        if not (dep["spec"].get("paused") or dm.complete(dep, dep.get("status") or {})):
            return
        limit = int(dep["spec"].get("revisionHistoryLimit", 10))
        alive = sorted(old_rs, key=dm.revision)
        for rs in alive[: max(0, len(alive) - limit)]:
            status = rs.get("status") or {}
            if (
                dm.spec_replicas(rs) != 0
                or int(status.get("replicas", 0)) != 0
                or int(rs["metadata"].get("generation", 1)) > int(status.get("observedGeneration", 0))
            ):
                continue
            self.store.delete(self.children, rs["metadata"]["namespace"], rs["metadata"]["name"])

    # --- status -----------------------------------------------------------------------------------------

    def _status(self, dep: Obj, new_rs: Obj | None, old_rs: list[Obj], created: bool) -> None:
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        current = self.store.peek(self.owners, ns, name)
        if current is None:
            return
        rses = [
            self.store.peek(self.children, ns, r["metadata"]["name"]) or r
            for r in ([new_rs] if new_rs else []) + old_rs
        ]
        fresh_new = rses[0] if new_rs else None
        old_status = current.get("status") or {}
        status = ds.replica_counts(current, rses, fresh_new, old_status)
        conditions = ds.Conditions(old_status, now_rfc3339(self.store.clock))
        available = sum(int((r.get("status") or {}).get("availableReplicas", 0)) for r in rses)
        ds.sync_conditions(current, conditions, fresh_new, created, available)
        if not bool(current["spec"].get("paused")):
            self._progress(current, status, old_status, fresh_new, conditions.set, conditions.by_type)
        status["conditions"] = list(conditions.by_type.values())
        if status == old_status:
            return
        updated_dep = clone(current)
        updated_dep["status"] = status
        self.store.update(self.owners, ns, name, updated_dep, subresource="status")

    def _progress(
        self,
        dep: Obj,
        status: Obj,
        old_status: Obj,
        new_rs: Obj | None,
        set_condition: Callable[..., None],
        conditions: dict[str, Obj],
    ) -> None:
        """The Progressing condition (progress.go syncRolloutStatus), with a timer for the deadline."""
        deadline = dep["spec"].get("progressDeadlineSeconds")
        if deadline is None or new_rs is None:
            return
        rs_name = new_rs["metadata"]["name"]
        current = conditions["Progressing"]  # set (created, found or resumed) before Available

        def count(st: Obj, key: str) -> int:
            return int(st.get(key, 0))

        if count(status, "replicas") == count(status, "updatedReplicas") and (
            current.get("reason") == "NewReplicaSetAvailable"
        ):
            return  # the latest rollout completed: nothing to estimate
        if dm.complete(dep, status):
            message = f'ReplicaSet "{rs_name}" has successfully progressed.'
            set_condition("Progressing", "True", "NewReplicaSetAvailable", message, refresh=True)
        elif dm.made_progress(old_status, status):
            message = f'ReplicaSet "{rs_name}" is progressing.'
            set_condition("Progressing", "True", "ReplicaSetUpdated", message, refresh=True)
        elif current.get("reason") != "ProgressDeadlineExceeded":
            expires = ds.epoch(current.get("lastUpdateTime")) + int(deadline)
            if self.store.clock() > expires:
                message = f'ReplicaSet "{rs_name}" has timed out progressing.'
                set_condition("Progressing", "False", "ProgressDeadlineExceeded", message)
            else:
                key = (dep["metadata"]["namespace"], dep["metadata"]["name"])
                self.later(key, expires - self.store.clock() + 0.05)
