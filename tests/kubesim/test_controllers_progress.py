"""Progress deadlines and what a failing rollout looks like on the Deployment."""

from __future__ import annotations

from tests.kubesim.controllers_support import CRASH_BEFORE_READY, running_cluster


async def test_a_crash_looping_rollout_exceeds_its_progress_deadline() -> None:
    async with running_cluster(**CRASH_BEFORE_READY) as c:
        c.create_deployment(replicas=2, progressDeadlineSeconds=1)
        await c.wait_for(c.rolled_out, what="first rollout")
        c.set_image("bad/app:2")
        cond = await c.wait_for(
            lambda: (p := c.condition("Progressing")) and p["status"] == "False" and p,
            within=6,
            what="ProgressDeadlineExceeded",
        )
        new_rs = next(
            rs
            for rs in c.replica_sets()
            if rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
        )
        assert cond["reason"] == "ProgressDeadlineExceeded"
        assert cond["message"] == f'ReplicaSet "{new_rs["metadata"]["name"]}" has timed out progressing.'
        status = c.deployment()["status"]
        assert status["availableReplicas"] == 2  # the old pods keep serving
        assert status["updatedReplicas"] >= 1
        assert not c.rolled_out()
        available = c.condition("Available")
        assert available is not None and available["status"] == "True"


async def test_progressing_condition_moves_from_created_to_available() -> None:
    async with running_cluster(pod_ready_seconds=0.1) as c:
        c.create_deployment(replicas=1)
        reasons: list[str] = []

        def record(rt: object, event: object) -> None:
            cond = c.condition("Progressing")
            if cond and (not reasons or reasons[-1] != cond["reason"]):
                reasons.append(cond["reason"])

        c.store.listeners.append(record)
        await c.wait_for(c.rolled_out, what="rollout")
        assert reasons[0] == "NewReplicaSetCreated"
        assert reasons[-1] == "NewReplicaSetAvailable"
        cond = c.condition("Progressing")
        assert cond is not None
        assert cond["lastTransitionTime"] <= cond["lastUpdateTime"]


async def test_a_healthy_rollout_keeps_progressing_true() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=2, progressDeadlineSeconds=1)
        await c.wait_for(c.rolled_out, what="rollout")
        assert await c.quiet(1.3)
        cond = c.condition("Progressing")
        assert cond is not None and (cond["status"], cond["reason"]) == ("True", "NewReplicaSetAvailable")


async def test_rolling_back_a_stuck_rollout_restores_the_old_pods_and_progress() -> None:
    async with running_cluster(**CRASH_BEFORE_READY) as c:
        c.create_deployment(replicas=4, progressDeadlineSeconds=1)
        await c.wait_for(c.rolled_out, what="first rollout")
        (rs1,) = c.replica_sets()
        c.set_image("bad/app:2")
        await c.wait_for(
            lambda: (p := c.condition("Progressing")) and p["reason"] == "ProgressDeadlineExceeded",
            within=6,
            what="stuck rollout",
        )
        assert c.store.get(c.replicasets, "default", rs1["metadata"]["name"])["spec"]["replicas"] == 3
        c.set_image("nginx:1.0")
        await c.wait_for(lambda: c.rolled_out() and len(c.all_pods()) == 4, what="rolled back")
        assert {p["spec"]["containers"][0]["image"] for p in c.all_pods()} == {"nginx:1.0"}
        cond = c.condition("Progressing")
        assert cond is not None and (cond["status"], cond["reason"]) == ("True", "NewReplicaSetAvailable")
        assert c.deployment()["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


async def test_conditions_are_listed_in_the_order_they_last_changed() -> None:
    async with running_cluster(pod_ready_seconds=0.1) as c:
        c.create_deployment(replicas=1)
        orders: list[list[str]] = []

        def record(rt: object, event: object) -> None:
            dep = c.store.peek(c.deployments, "default", "web") or {}
            order = [x["type"] for x in (dep.get("status") or {}).get("conditions") or []]
            if order and (not orders or orders[-1] != order):
                orders.append(order)

        c.store.listeners.append(record)
        await c.wait_for(c.rolled_out, what="rollout")
        # As SetDeploymentCondition appends: created first, then Available; progress moves Progressing last.
        assert orders[0] == ["Progressing", "Available"]
        assert orders[-1] == ["Available", "Progressing"]
        c.update_spec(paused=True)
        await c.wait_for(
            lambda: (c.condition("Progressing") or {}).get("reason") == "DeploymentPaused", what="paused"
        )
        assert [x["type"] for x in c.deployment()["status"]["conditions"]] == ["Available", "Progressing"]
