"""Garbage collection (background, foreground, orphan) and namespace deletion."""

from __future__ import annotations

from tests.kubesim.controllers_support import running_cluster


async def test_deleting_a_deployment_removes_its_replicasets_and_pods() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=2)
        await c.wait_for(c.rolled_out, what="rollout")
        c.store.delete(c.deployments, "default", "web", propagation="Background")
        await c.wait_for(
            lambda: not list(c.store.iter(c.replicasets, "default")) and not c.all_pods(),
            what="dependents gone",
        )


async def test_foreground_deletion_keeps_the_owner_until_dependents_are_gone() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=2)
        await c.wait_for(c.rolled_out, what="rollout")
        marked = c.store.delete(c.deployments, "default", "web", propagation="Foreground")
        assert marked["metadata"]["finalizers"] == ["foregroundDeletion"]
        owner_seen_with_pods: list[bool] = []

        def record(rt: object, event: object) -> None:
            if c.store.peek(c.deployments, "default", "web") is None:
                owner_seen_with_pods.append(bool(c.all_pods()))

        c.store.listeners.append(record)
        await c.wait_for(lambda: c.store.peek(c.deployments, "default", "web") is None, what="owner deleted")
        assert not c.all_pods()
        assert not list(c.store.iter(c.replicasets, "default"))
        assert not any(owner_seen_with_pods)


async def test_orphan_deletion_leaves_dependents_without_owner_references() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=2)
        await c.wait_for(c.rolled_out, what="rollout")
        (rs,) = c.replica_sets()
        c.store.delete(c.deployments, "default", "web", propagation="Orphan")
        await c.wait_for(lambda: c.store.peek(c.deployments, "default", "web") is None, what="owner deleted")
        kept = c.store.get(c.replicasets, "default", rs["metadata"]["name"])
        assert not kept["metadata"].get("ownerReferences")
        assert len(c.pods_of(rs["metadata"]["name"])) == 2
        assert await c.quiet(0.3)
        assert c.store.peek(c.replicasets, "default", rs["metadata"]["name"]) is not None


async def test_a_new_namespace_gets_its_default_service_account() -> None:
    async with running_cluster() as c:
        c.store.create(c.namespaces, None, {"metadata": {"name": "team"}})
        sas = c.store.require("", "serviceaccounts")
        await c.wait_for(lambda: c.store.peek(sas, "team", "default"), what="default ServiceAccount")


async def test_namespace_deletion_empties_it_then_removes_it() -> None:
    async with running_cluster() as c:
        c.store.create(c.namespaces, None, {"metadata": {"name": "team"}})
        c.create_deployment(namespace="team", replicas=2)
        await c.wait_for(lambda: c.rolled_out(namespace="team"), what="rollout in team")
        cms = c.store.require("", "configmaps")
        c.store.create(cms, "team", {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
        c.store.delete(c.namespaces, None, "team")
        await c.wait_for(lambda: not c.all_pods("team"), what="pods gone")
        await c.wait_for(
            lambda: (cm := c.store.peek(cms, "team", "held")) and cm["metadata"].get("deletionTimestamp"),
            what="held ConfigMap marked",
        )
        ns = c.store.get(c.namespaces, None, "team")
        assert ns["status"]["phase"] == "Terminating"

        def condition(type_: str) -> dict[str, str]:
            ns = c.store.get(c.namespaces, None, "team")
            found = [x for x in (ns.get("status") or {}).get("conditions") or [] if x["type"] == type_]
            return found[0] if found else {}

        await c.wait_for(
            lambda: condition("NamespaceContentRemaining").get("status") == "True", what="conditions"
        )
        assert condition("NamespaceContentRemaining")["reason"] == "SomeResourcesRemain"
        assert condition("NamespaceContentRemaining")["message"] == (
            "Some resources are remaining: configmaps. has 1 resource instances"
        )
        assert condition("NamespaceFinalizersRemaining")["message"] == (
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
        )
        assert condition("NamespaceDeletionContentFailure") == {
            "type": "NamespaceDeletionContentFailure",
            "status": "False",
            "lastTransitionTime": condition("NamespaceDeletionContentFailure")["lastTransitionTime"],
            "reason": "ContentDeleted",
            "message": "All content successfully deleted, may be waiting on finalization",
        }
        held = c.store.get(cms, "team", "held")
        held["metadata"]["finalizers"] = []
        c.store.update(cms, "team", "held", held)
        await c.wait_for(lambda: c.store.peek(c.namespaces, None, "team") is None, what="namespace removed")
        assert not list(c.store.iter(c.deployments, "team"))


async def test_an_object_created_with_a_vanished_owner_is_collected() -> None:
    async with running_cluster() as c:
        cms = c.store.require("", "configmaps")
        owner = c.store.create(cms, "default", {"metadata": {"name": "owner"}})
        ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
        gone = {**ref, "name": "gone", "uid": "00000000-0000-0000-0000-000000000000"}
        c.store.create(cms, "default", {"metadata": {"name": "orphaned", "ownerReferences": [gone]}})
        c.store.create(cms, "default", {"metadata": {"name": "mixed", "ownerReferences": [ref, gone]}})
        await c.wait_for(
            lambda: c.store.peek(cms, "default", "orphaned") is None, what="dangling dependent deleted"
        )
        await c.wait_for(
            lambda: c.store.get(cms, "default", "mixed")["metadata"]["ownerReferences"] == [ref],
            what="dangling reference dropped",
        )


async def test_a_recreated_deployment_adopts_its_orphaned_replicaset() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=2)
        await c.wait_for(c.rolled_out, what="rollout")
        (rs,) = c.replica_sets()
        pods = {p["metadata"]["name"] for p in c.all_pods()}
        c.store.delete(c.deployments, "default", "web", propagation="Orphan")
        await c.wait_for(lambda: c.store.peek(c.deployments, "default", "web") is None, what="owner deleted")
        await c.wait_for(
            lambda: (
                not c.store.get(c.replicasets, "default", rs["metadata"]["name"])["metadata"].get(
                    "ownerReferences"
                )
            ),
            what="orphaned",
        )
        dep = c.create_deployment(replicas=2)
        await c.wait_for(c.rolled_out, what="rollout of the recreated Deployment")
        (adopted,) = c.replica_sets()
        assert adopted["metadata"]["name"] == rs["metadata"]["name"]
        assert adopted["metadata"]["ownerReferences"][0]["uid"] == dep["metadata"]["uid"]
        assert {p["metadata"]["name"] for p in c.all_pods()} == pods


async def test_an_orphan_pod_matching_a_replicaset_is_adopted() -> None:
    async with running_cluster() as c:
        c.create_deployment(replicas=1)
        await c.wait_for(c.rolled_out, what="rollout")
        (rs,) = c.replica_sets()
        (pod,) = c.pods_of(rs["metadata"]["name"])
        freed = c.store.get(c.pods, "default", pod["metadata"]["name"])
        freed["metadata"]["ownerReferences"] = []
        c.store.update(c.pods, "default", pod["metadata"]["name"], freed)
        await c.wait_for(
            lambda: (
                (p := c.store.peek(c.pods, "default", pod["metadata"]["name"]))
                and p["metadata"].get("ownerReferences")
            ),
            what="pod adopted back",
        )
        assert [p["metadata"]["name"] for p in c.all_pods()] == [pod["metadata"]["name"]]
