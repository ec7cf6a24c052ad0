"""Requests of several workloads (decide/release.py), one decision at a time without a cluster: the order of patches,
the checks before the first, adoption after a restart, the reverse-order undo, and the end."""

from __future__ import annotations

from typing import Any

from deployreq.api.names import RUN_ANNOTATION
from deployreq.api.phases import Phase
from deployreq.api.request import Request
from deployreq.api.workload import WorkloadKind, WorkloadSpec
from deployreq.decide import kinds, progress, release, rollout, steps
from deployreq.decide import release_steps as rs

NOW = 1_800_000_000.0
T = rollout.Thresholds()
OLD, NEW = "img/app:1", "img/app:2"
Obj = dict[str, Any]


def template(image: str) -> Obj:
    return {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "app", "image": image}]}}


def daemonset(name: str, image: str, generation: int = 1, done: bool = True, **annotations: str) -> Obj:
    return {
        "metadata": {
            "name": name,
            "uid": f"{name}-uid",
            "generation": generation,
            "resourceVersion": "7",
            "annotations": annotations,
        },
        "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": template(image)},
        "status": {
            "observedGeneration": generation,
            "desiredNumberScheduled": 3,
            "updatedNumberScheduled": 3 if done else 1,
            "numberAvailable": 3 if done else 2,
        },
    }


def revision(owner: str, image: str, number: int) -> Obj:
    return {
        "metadata": {
            "name": f"{owner}-{number}",
            "labels": {"controller-revision-hash": f"h{number}"},
            "ownerReferences": [{"uid": f"{owner}-uid", "controller": True}],
        },
        "revision": number,
        "data": {"spec": {"template": {**template(image), "$patch": "replace"}}},
    }


def request(phase: Phase | None = None, entries: list[Obj] | None = None, **spec: Any) -> Request:
    workloads = [
        {"kind": "DaemonSet", "name": n, "images": [{"container": "app", "image": NEW}]} for n in ("a", "b")
    ]
    status: Obj = {"observedGeneration": 1, "attempt": 1}
    if phase is not None:
        status["phase"] = phase.value
    if entries is not None:
        status["workloads"] = entries
    return Request.parse(
        {
            "metadata": {"name": "r", "namespace": "ns", "uid": "u", "generation": 1},
            "spec": {"workloads": workloads, **spec},
            "status": status,
        }
    )


def view(name: str, obj: Obj | None, revisions: list[Obj] | None = None) -> kinds.View:
    spec = WorkloadSpec(kind=WorkloadKind.DAEMONSET, name=name, images=[{"container": "app", "image": NEW}])
    return kinds.View(spec, obj, revisions or [], [])


def world(*views: kinds.View) -> release.ReleaseWorld:
    return release.ReleaseWorld(steps.World(None), list(views))


def entry(name: str, **fields: Any) -> Obj:
    return {
        "kind": "DaemonSet",
        "name": name,
        "previousImages": [{"container": "app", "image": OLD}],
        "previousRevision": 1,
        **fields,
    }


def test_a_missing_workload_before_anything_changed_is_retried_and_nothing_is_patched() -> None:
    step = release.next_step(
        request(Phase.DEPLOYING), world(view("a", daemonset("a", OLD)), view("b", None)), NOW, T
    )
    assert isinstance(step, steps.Requeue) and 'DaemonSet "b" not found' in step.message


def test_a_workload_without_the_container_fails_the_request_before_the_first_patch() -> None:
    other = daemonset("b", OLD)
    other["spec"]["template"]["spec"]["containers"][0]["name"] = "main"
    step = release.next_step(
        request(Phase.DEPLOYING), world(view("a", daemonset("a", OLD)), view("b", other)), NOW, T
    )
    assert isinstance(step, steps.Finish) and step.phase == Phase.FAILED and step.reason == "InvalidRequest"
    assert 'DaemonSet "b" has no container "app"' in step.message


def test_the_first_workload_is_patched_first_with_what_it_ran_recorded() -> None:
    a = view("a", daemonset("a", OLD), [revision("a", OLD, 1)])
    step = release.next_step(request(Phase.DEPLOYING), world(a, view("b", daemonset("b", OLD))), NOW, T)
    assert isinstance(step, rs.PatchWorkload) and step.target.name == "a" and step.seen_rv == "7"
    assert step.before.previous_revision == 1 and step.before.uid == "a-uid"
    assert [(i.container, i.image) for i in step.before.previous_images or []] == [("app", OLD)]


def test_the_next_workload_waits_until_the_one_before_is_rolled_out() -> None:
    req = request(Phase.DEPLOYING, [entry("a", patchedGeneration=2, patchedAt="2027-01-15T08:00:00Z")])
    rolling = view("a", daemonset("a", NEW, generation=2, done=False))
    assert isinstance(
        release.next_step(req, world(rolling, view("b", daemonset("b", OLD))), NOW, T), steps.Wait
    )
    done = view("a", daemonset("a", NEW, generation=2), [revision("a", OLD, 1), revision("a", NEW, 2)])
    step = release.next_step(req, world(done, view("b", daemonset("b", OLD))), NOW, T)
    assert isinstance(step, rs.Record)
    (a,) = step.status.fields.workloads or []
    assert a.rolled_out_at and a.revision == 2
    req = request(Phase.DEPLOYING, [entry("a", patchedGeneration=2, rolledOutAt="2027-01-15T08:00:01Z")])
    step = release.next_step(req, world(done, view("b", daemonset("b", OLD))), NOW, T)
    assert isinstance(step, rs.PatchWorkload) and step.target.name == "b"


def test_after_a_restart_our_patch_is_adopted_and_images_already_in_place_are_left_unchanged() -> None:
    req = request(Phase.DEPLOYING, [entry("a")])
    ours = view("a", daemonset("a", NEW, generation=2, **{RUN_ANNOTATION: progress.run_id(req)}))
    step = release.next_step(req, world(ours, view("b", daemonset("b", OLD))), NOW, T)
    assert isinstance(step, rs.Record) and (step.status.fields.workloads or [])[0].patched_generation == 2
    theirs = view("a", daemonset("a", NEW, generation=2))
    step = release.next_step(request(Phase.DEPLOYING), world(theirs, view("b", daemonset("b", OLD))), NOW, T)
    assert isinstance(step, rs.Record) and (step.status.fields.workloads or [])[0].unchanged


def test_a_workload_changed_by_someone_else_during_the_rollout_rolls_the_release_back() -> None:
    req = request(Phase.DEPLOYING, [entry("a", patchedGeneration=2, patchedAt="2027-01-15T08:00:00Z")])
    step = release.next_step(
        req, world(view("a", daemonset("a", "x:9", generation=3)), view("b", None)), NOW, T
    )
    assert isinstance(step, steps.StartRollback) and "daemonset/a was changed by someone else" in step.message


def test_the_rollback_undoes_the_last_changed_workload_first_as_kubectl_would() -> None:
    patched = {"patchedGeneration": 2, "patchedAt": "2027-01-15T08:00:00Z"}
    req = request(
        Phase.ROLLING_BACK, [entry("a", rolledOutAt="2027-01-15T08:00:01Z", **patched), entry("b", **patched)]
    )
    b = view("b", daemonset("b", NEW, generation=2), [revision("b", OLD, 1), revision("b", NEW, 2)])
    a = view("a", daemonset("a", NEW, generation=2), [revision("a", OLD, 1), revision("a", NEW, 2)])
    step = release.next_step(req, world(a, b), NOW, T)
    assert isinstance(step, rs.UndoWorkload) and step.target.name == "b"
    assert step.plan.target_revision == 1 and not step.plan.json_patch
    assert step.plan.body == revision("b", OLD, 1)["data"]


def test_an_undo_already_written_is_adopted_and_an_available_one_recorded() -> None:
    patched = {"patchedGeneration": 2, "patchedAt": "2027-01-15T08:00:00Z"}
    req = request(Phase.ROLLING_BACK, [entry("a", **patched)])
    undone = view("a", daemonset("a", OLD, generation=3), [revision("a", NEW, 2), revision("a", OLD, 3)])
    step = release.next_step(req, world(undone, view("b", daemonset("b", OLD))), NOW, T)
    assert isinstance(step, rs.Record)
    (a,) = step.status.fields.workloads or []
    assert a.rollback is not None and a.rollback.patched_generation == 3 and a.rollback.target_revision == 1
    undo = {"targetRevision": 1, "patchedGeneration": 3, "patchedAt": "2027-01-15T08:00:02Z"}
    req = request(Phase.ROLLING_BACK, [entry("a", rollback=undo, **patched)])
    step = release.next_step(req, world(undone, view("b", daemonset("b", OLD))), NOW, T)
    assert isinstance(step, rs.Record)
    (a,) = step.status.fields.workloads or []
    assert a.rollback is not None and a.rollback.available_at and a.revision == 3


def test_the_end_is_rolled_back_only_when_all_are_back_else_failed_naming_those_left_alone() -> None:
    patched = {"patchedGeneration": 2, "patchedAt": "2027-01-15T08:00:00Z"}
    back = {"targetRevision": 1, "patchedGeneration": 3, "availableAt": "2027-01-15T08:00:03Z"}
    views = world(view("a", daemonset("a", OLD, generation=3)), view("b", daemonset("b", OLD, generation=3)))
    req = request(
        Phase.ROLLING_BACK, [entry("a", rollback=back, **patched), entry("b", rollback=back, **patched)]
    )
    step = release.next_step(req, views, NOW, T)
    assert isinstance(step, steps.Finish) and step.phase == Phase.ROLLED_BACK
    alone = "it was changed by someone else since this request patched it"
    req = request(
        Phase.ROLLING_BACK, [entry("a", rollback=back, **patched), entry("b", leftAlone=alone, **patched)]
    )
    step = release.next_step(req, views, NOW, T)
    assert isinstance(step, steps.Finish) and step.phase == Phase.FAILED and step.reason == "ChangedElsewhere"
    assert f"daemonset/b: {alone}" in step.message and "Rolled back daemonset/a" in step.message


def test_nothing_is_decided_until_the_statefulset_and_daemonset_mirrors_have_listed() -> None:
    not_yet = release.ReleaseWorld(steps.World(None), [], mirrored=False)
    assert release.next_step(request(Phase.DEPLOYING), not_yet, NOW, T) == steps.Wait()
