"""The simulated Deployment controller as a user sees it: ReplicaSets, revisions, rollouts, status."""

from __future__ import annotations

from kubesim.controllers import deployment_math as dm
from tests.kubesim.controllers_support import CRASH_BEFORE_READY, running_cluster

REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"


async def test_first_rollout_creates_a_replicaset_with_revision_1_and_ready_pods() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=3)
        await c.wait_for(c.rolled_out, what="rollout")
        dep = c.deployment()
        (rs,) = c.replica_sets()
        pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
        assert rs["metadata"]["name"] == f"web-{pod_hash}"
        assert set(pod_hash) <= set("bcdfghjklmnpqrstvwxz2456789")
        assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": pod_hash}
        assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == pod_hash
        assert rs["metadata"]["annotations"][REVISION] == "1"
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "3"
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "4"
        (ref,) = rs["metadata"]["ownerReferences"]
        assert ref == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "web",
            "uid": dep["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        assert dep["metadata"]["annotations"][REVISION] == "1"
        assert dep["metadata"]["generation"] == 1
        status = dep["status"]
        assert status["observedGeneration"] == 1
        assert (status["replicas"], status["updatedReplicas"]) == (3, 3)
        assert (status["readyReplicas"], status["availableReplicas"]) == (3, 3)
        assert "unavailableReplicas" not in status
        pods = c.pods_of(rs["metadata"]["name"])
        assert len(pods) == 3
        assert all(p["metadata"]["name"].startswith(rs["metadata"]["name"] + "-") for p in pods)
        assert all(len(p["metadata"]["name"]) == len(rs["metadata"]["name"]) + 6 for p in pods)
        available = c.condition("Available")
        progressing = c.condition("Progressing")
        assert available is not None and progressing is not None
        assert (available["status"], available["reason"], available["message"]) == (
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
        assert (progressing["status"], progressing["reason"], progressing["message"]) == (
            "True",
            "NewReplicaSetAvailable",
            f'ReplicaSet "{rs["metadata"]["name"]}" has successfully progressed.',
        )


async def test_new_image_makes_revision_2_and_scales_the_old_replicaset_to_zero() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=3)
        await c.wait_for(c.rolled_out, what="first rollout")
        (rs1,) = c.replica_sets()
        c.set_image("nginx:2.0")
        await c.wait_for(
            lambda: c.rolled_out() and len(c.replica_sets()) == 2 and not c.all_pods()[3:],
            what="second rollout",
        )
        by_rev = {rs["metadata"]["annotations"][REVISION]: rs for rs in c.replica_sets()}
        assert by_rev["1"]["metadata"]["name"] == rs1["metadata"]["name"]
        assert by_rev["1"]["spec"]["replicas"] == 0
        assert by_rev["2"]["spec"]["replicas"] == 3
        assert by_rev["2"]["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2.0"
        dep = c.deployment()
        assert dep["metadata"]["annotations"][REVISION] == "2"
        assert dep["metadata"]["generation"] == 2
        assert dep["status"]["observedGeneration"] == 2
        images = {p["spec"]["containers"][0]["image"] for p in c.all_pods()}
        assert images == {"nginx:2.0"}


async def test_rolling_update_never_exceeds_surge_or_unavailability_bounds() -> None:
    async with running_cluster(pod_ready_seconds=0.05) as c:
        c.create_deployment(
            replicas=4,
            strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        )
        await c.wait_for(c.rolled_out, what="first rollout")
        seen: list[tuple[int, int]] = []

        def record(rt: object, event: object) -> None:
            pods = c.all_pods()
            ready = sum(
                1
                for p in pods
                for cond in (p.get("status") or {}).get("conditions") or []
                if cond["type"] == "Ready" and cond["status"] == "True"
            )
            seen.append((len(pods), ready))

        c.store.listeners.append(record)
        c.set_image("nginx:2.0")
        await c.wait_for(lambda: c.rolled_out() and len(c.all_pods()) == 4, what="second rollout")
        assert max(total for total, _ in seen) <= 5
        assert min(ready for _, ready in seen) >= 4


async def test_undo_to_an_old_template_reuses_its_replicaset_as_revision_3() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=2)
        await c.wait_for(c.rolled_out, what="first rollout")
        (rs1,) = c.replica_sets()
        c.set_image("nginx:2.0")
        await c.wait_for(lambda: c.rolled_out() and len(c.all_pods()) == 2, what="second rollout")
        c.set_image("nginx:1.0")
        await c.wait_for(
            lambda: c.rolled_out() and c.deployment()["metadata"]["annotations"][REVISION] == "3",
            what="rollback",
        )
        rses = c.replica_sets()
        assert len(rses) == 2
        reused = next(rs for rs in rses if rs["metadata"]["name"] == rs1["metadata"]["name"])
        assert reused["metadata"]["annotations"][REVISION] == "3"
        assert reused["metadata"]["annotations"][HISTORY] == "1"
        assert reused["spec"]["replicas"] == 2
        other = next(rs for rs in rses if rs is not reused)
        assert other["metadata"]["annotations"][REVISION] == "2"
        assert other["spec"]["replicas"] == 0


async def test_revision_history_limit_prunes_the_oldest_idle_replicasets() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=1, revisionHistoryLimit=1)
        for n in range(2, 5):
            await c.wait_for(c.rolled_out, what=f"rollout before 1.{n}")
            c.set_image(f"nginx:{n}.0")
        await c.wait_for(
            lambda: c.rolled_out() and len(c.replica_sets()) == 2, what="pruning to one old ReplicaSet"
        )
        revisions = sorted(int(rs["metadata"]["annotations"][REVISION]) for rs in c.replica_sets())
        assert revisions == [3, 4]


async def test_recreate_removes_all_old_pods_before_creating_new_ones() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=3, strategy={"type": "Recreate"})
        await c.wait_for(c.rolled_out, what="first rollout")
        mixed: list[set[str]] = []

        availability: list[str] = []

        def record(rt: object, event: object) -> None:
            mixed.append({p["spec"]["containers"][0]["image"] for p in c.all_pods()})
            availability.append((c.condition("Available") or {}).get("status", ""))

        c.store.listeners.append(record)
        c.set_image("nginx:2.0")
        await c.wait_for(
            lambda: (
                c.rolled_out()
                and {p["spec"]["containers"][0]["image"] for p in c.all_pods()} == {"nginx:2.0"}
            ),
            what="recreate rollout",
        )
        assert all(len(images) <= 1 for images in mixed)
        assert set() in mixed  # a moment with no pods at all
        assert "False" in availability  # Recreate tolerates no unavailability
        assert availability[-1] == "True"


async def test_paused_deployment_does_not_roll_out_until_resumed() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=2)
        await c.wait_for(c.rolled_out, what="first rollout")
        c.update_spec(paused=True)
        c.set_image("nginx:2.0")
        cond = await c.wait_for(
            lambda: (p := c.condition("Progressing")) and p["reason"] == "DeploymentPaused" and p,
            what="paused",
        )
        assert (cond["status"], cond["message"]) == ("Unknown", "Deployment is paused")
        assert len(c.replica_sets()) == 1
        assert c.deployment()["status"]["observedGeneration"] == c.deployment()["metadata"]["generation"]
        c.update_spec(paused=False)
        await c.wait_for(lambda: c.rolled_out() and len(c.replica_sets()) == 2, what="rollout after resume")
        images = {p["spec"]["containers"][0]["image"] for p in c.all_pods()}
        await c.wait_for(
            lambda: {p["spec"]["containers"][0]["image"] for p in c.all_pods()} == {"nginx:2.0"},
            what=f"only new pods (had {images})",
        )


async def test_min_ready_seconds_delays_availability() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=1, minReadySeconds=1)
        await c.wait_for(lambda: (c.deployment().get("status") or {}).get("readyReplicas") == 1, what="ready")
        status = c.deployment()["status"]
        assert status.get("availableReplicas", 0) == 0
        assert status["unavailableReplicas"] == 1
        await c.wait_for(c.rolled_out, within=5, what="available after minReadySeconds")


async def test_scaling_changes_pods_and_desired_replicas_annotation() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=2)
        await c.wait_for(c.rolled_out, what="first rollout")
        c.update_spec(replicas=5)
        await c.wait_for(lambda: c.rolled_out() and len(c.all_pods()) == 5, what="scale up")
        (rs,) = c.replica_sets()
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "5"
        c.update_spec(replicas=1)
        await c.wait_for(lambda: c.rolled_out() and len(c.all_pods()) == 1, what="scale down")
        assert c.deployment()["metadata"]["annotations"][REVISION] == "1"


async def test_controller_writes_settle_without_a_write_storm() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=2)
        await c.wait_for(c.rolled_out, what="rollout")
        assert await c.quiet(0.5)


async def test_revision_history_limit_zero_keeps_only_the_current_replicaset() -> None:
    async with running_cluster(**CRASH_BEFORE_READY) as c:
        c.create_deployment(replicas=1, revisionHistoryLimit=0)
        await c.wait_for(c.rolled_out, what="first rollout")
        c.set_image("nginx:2.0")
        await c.wait_for(
            lambda: c.rolled_out() and len(c.replica_sets()) == 1, what="old RS pruned at limit 0"
        )
        assert c.replica_sets()[0]["metadata"]["annotations"][REVISION] == "2"


async def test_scaling_in_the_middle_of_a_rollout_is_proportional() -> None:
    async with running_cluster(**CRASH_BEFORE_READY) as c:
        strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}
        c.create_deployment(replicas=10, strategy=strategy)
        await c.wait_for(c.rolled_out, what="first rollout")
        (rs1,) = c.replica_sets()
        c.set_image("bad/app:2")

        def sizes() -> dict[str, int]:
            return {
                "old" if rs["metadata"]["uid"] == rs1["metadata"]["uid"] else "new": rs["spec"]["replicas"]
                for rs in c.replica_sets()
            }

        await c.wait_for(lambda: sizes() == {"old": 8, "new": 5}, what="stuck rollout at 8 old + 5 new")
        c.update_spec(replicas=15)
        # 18 allowed (15 + surge 3), 5 to add, shared by size: 8 * 18/13 -> 11, 5 * 18/13 -> 7.
        await c.wait_for(lambda: sizes() == {"old": 11, "new": 7}, what="proportional scale-up")
        for rs in c.replica_sets():
            assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "15"
            assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "18"
        assert sizes() == {"old": 11, "new": 7}


async def test_a_name_collision_bumps_collision_count_and_uses_the_next_hash() -> None:
    async with running_cluster() as c:
        dep = c.create_deployment(replicas=1, paused=True)
        taken = f"web-{dm.template_hash(dm.without_hash(dep['spec']['template']))}"
        squatter = {
            "metadata": {"name": taken, "namespace": "default"},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"squat": "yes"}},
                "template": {
                    "metadata": {"labels": {"squat": "yes"}},
                    "spec": {"containers": [{"name": "x", "image": "other:1"}]},
                },
            },
        }
        c.store.create(c.replicasets, "default", squatter)
        c.update_spec(paused=False)
        await c.wait_for(c.rolled_out, what="rollout despite the collision")
        assert c.deployment()["status"]["collisionCount"] == 1
        (rs,) = c.replica_sets()
        assert (
            rs["metadata"]["name"] == f"web-{dm.template_hash(dm.without_hash(dep['spec']['template']), 1)}"
        )
        assert c.store.get(c.replicasets, "default", taken)["spec"]["template"]["metadata"]["labels"] == {
            "squat": "yes"
        }
