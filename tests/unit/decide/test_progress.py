"""The active request's state machine, stepped one decision at a time without a cluster."""

from __future__ import annotations

from typing import Any

from deployreq.api import names
from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.decide import progress, rollout, steps

NOW = 1_800_000_000.0
T = rollout.Thresholds(restarts=2)


def deployment(
    image: str = "img/app:1",
    generation: int = 1,
    observed: int | None = None,
    revision: int = 1,
    replicas: int = 2,
    available: int | None = None,
    **annotations: str,
) -> dict[str, Any]:
    available = replicas if available is None else available
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "ns",
            "uid": "dep-uid",
            "generation": generation,
            "resourceVersion": "10",
            "annotations": {"deployment.kubernetes.io/revision": str(revision), **annotations},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
        "status": {
            "observedGeneration": generation if observed is None else observed,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": available,
            "availableReplicas": available,
        },
    }


def replicaset(image: str, revision: int, name: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": f"{name}-uid",
            "annotations": {"deployment.kubernetes.io/revision": str(revision)},
            "labels": {"app": "web", "pod-template-hash": name.rsplit("-", maxsplit=1)[-1]},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "web",
                    "uid": "dep-uid",
                    "controller": True,
                }
            ],
        },
        "spec": {
            "replicas": replicas,
            "template": {
                "metadata": {"labels": {"app": "web", "pod-template-hash": name.rsplit("-", maxsplit=1)[-1]}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
        "status": {"replicas": replicas, "availableReplicas": replicas, "readyReplicas": replicas},
    }


def request(phase: str | None = None, **status: Any) -> Request:
    """A request parsed from its body; :func:`edited` parses a changed copy."""
    body: dict[str, Any] = {
        "apiVersion": "deployreq.dev/v1alpha1",
        "kind": "DeploymentRequest",
        "metadata": {
            "name": "r",
            "namespace": "ns",
            "uid": "req-uid",
            "generation": 1,
            "creationTimestamp": "2027-01-15T08:00:00Z",
            "finalizers": ["deployreq.dev/rollback-on-delete"],
        },
        "spec": {"deployment": "web", "images": [{"container": "app", "image": "img/app:2"}]},
        "status": {"observedGeneration": 1, **status},
    }
    if phase:
        body["status"]["phase"] = phase
    return Request.parse(body)


def edited(req: Request, **parts: Any) -> Request:
    """The request with ``spec``, ``status`` or ``metadata`` fields changed (merged one level deep)."""
    body = {**req.body}
    for part, fields in parts.items():
        body[part] = {**body.get(part, {}), **fields}
    return Request.parse(body)


def test_a_new_deploy_patches_only_the_named_images_and_records_what_was_there() -> None:
    step = progress.next_step(request("Deploying"), steps.World(deployment()), NOW, T)
    assert step == steps.Patch({"app": "img/app:2"}, {"app": "img/app:1"}, 1)


def test_images_already_in_place_succeed_without_a_patch() -> None:
    step = progress.next_step(request("Deploying"), steps.World(deployment("img/app:2")), NOW, T)
    assert isinstance(step, steps.Finish)
    assert step.phase == Phase.SUCCEEDED
    assert "already in place" in step.message


def test_a_missing_deployment_is_retried_then_fails() -> None:
    first = progress.next_step(request("Deploying", attempt=1), steps.World(None), NOW, T)
    assert isinstance(first, steps.Requeue)
    assert first.at == NOW + 10
    last = progress.next_step(request("Deploying", attempt=4), steps.World(None), NOW, T)
    assert isinstance(last, steps.Finish)
    assert last.phase == Phase.FAILED
    assert 'Deployment "web" not found' in last.message


def test_an_unknown_container_fails_at_once() -> None:
    req = edited(request("Deploying"), spec={"images": [{"container": "ap", "image": "img/app:2"}]})
    step = progress.next_step(req, steps.World(deployment()), NOW, T)
    assert isinstance(step, steps.Finish)
    assert step.phase == Phase.FAILED
    assert "ap" in step.message


def test_a_restarted_operator_adopts_its_own_patch_instead_of_repeating_it() -> None:
    req = request("Deploying", previousImages=[{"container": "app", "image": "img/app:1"}])
    dep = deployment("img/app:2", generation=2, **{names.RUN_ANNOTATION: progress.run_id(req)})
    step = progress.next_step(req, steps.World(dep), NOW, T)
    assert step == steps.Adopt(2, {"app": "img/app:1"})


def test_a_view_older_than_our_patch_waits() -> None:
    req = request("Deploying", patchedGeneration=2, patchedAt="2027-01-15T08:00:00Z")
    step = progress.next_step(req, steps.World(deployment("img/app:1", generation=1)), NOW, T)
    assert isinstance(step, steps.Wait)


def test_someone_elses_change_during_the_rollout_fails_without_rollback() -> None:
    req = request("Deploying", patchedGeneration=2, patchedAt="2027-01-15T08:00:00Z")
    step = progress.next_step(req, steps.World(deployment("img/app:3", generation=3)), NOW, T)
    assert isinstance(step, steps.Finish)
    assert step.phase == Phase.FAILED
    assert "someone else" in step.message


def test_a_crash_looping_new_pod_starts_the_rollback() -> None:
    req = request("Deploying", patchedGeneration=2, patchedAt="2027-01-15T08:00:00Z")
    dep = deployment("img/app:2", generation=2, available=0)
    dep["status"]["updatedReplicas"] = 1
    new_rs = replicaset("img/app:2", 2, "web-new", replicas=1)
    pod = {
        "metadata": {"name": "web-new-x", "ownerReferences": [{"uid": "web-new-uid", "controller": True}]},
        "status": {
            "containerStatuses": [
                {
                    "name": "app",
                    "restartCount": 3,
                    "ready": False,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                }
            ]
        },
    }
    world = steps.World(dep, [replicaset("img/app:1", 1, "web-old"), new_rs], [pod])
    step = progress.next_step(req, world, NOW, T)
    assert isinstance(step, steps.StartRollback)
    assert "CrashLoopBackOff" in step.message or "restart" in step.message


def test_a_complete_rollout_with_a_window_starts_verifying_and_without_one_succeeds() -> None:
    dep = deployment("img/app:2", generation=2)
    world = steps.World(
        dep, [replicaset("img/app:1", 1, "web-old", 0), replicaset("img/app:2", 2, "web-new")]
    )
    req = request("Deploying", patchedGeneration=2, patchedAt="2027-01-15T08:00:00Z")
    finished = progress.next_step(req, world, NOW, T)
    assert isinstance(finished, steps.Finish)
    assert finished.phase == Phase.SUCCEEDED
    req = edited(req, spec={"verification": {"durationSeconds": 30}})
    assert isinstance(progress.next_step(req, world, NOW, T), steps.Verify)


def test_rolling_back_plans_kubectls_undo_to_the_previous_revision() -> None:
    dep = deployment("img/app:2", generation=2, revision=2)
    world = steps.World(
        dep, [replicaset("img/app:1", 1, "web-old", 0), replicaset("img/app:2", 2, "web-new")]
    )
    req = request(
        "RollingBack",
        patchedGeneration=2,
        previousRevision=1,
        previousImages=[{"container": "app", "image": "img/app:1"}],
    )
    step = progress.next_step(req, world, NOW, T)
    assert isinstance(step, steps.Undo)
    assert step.plan.target_revision == 1
    template = step.plan.ops[0]["value"]
    assert template["spec"]["containers"][0]["image"] == "img/app:1"
    assert "pod-template-hash" not in template["metadata"]["labels"]


def test_a_restarted_operator_adopts_its_own_undo() -> None:
    dep = deployment("img/app:1", generation=3, revision=3)
    req = request(
        "RollingBack",
        patchedGeneration=2,
        previousRevision=1,
        previousImages=[{"container": "app", "image": "img/app:1"}],
    )
    assert progress.next_step(req, steps.World(dep), NOW, T) == steps.AdoptUndo(3)


def test_deleting_a_request_before_it_patched_cancels_it() -> None:
    req = edited(request("Checking"), metadata={"deletionTimestamp": "2027-01-15T08:00:00Z"})
    step = progress.next_step(req, steps.World(deployment()), NOW, T)
    assert isinstance(step, steps.Finish)
    assert step.phase == Phase.CANCELLED
