"""What `kubectl rollout undo` computes, and the image patch the operator sends."""

from __future__ import annotations

from typing import Any

import pytest

from deployreq.decide.rollback import UndoError, image_patch, images_of, plan_undo

Obj = dict[str, Any]


def template(image: str, hash_: str | None = None) -> Obj:
    labels = {"app": "web"} | ({"pod-template-hash": hash_} if hash_ else {})
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}}


def deployment(image: str = "img:3", *, paused: bool = False, annotations: Obj | None = None) -> Obj:
    return {
        "metadata": {
            "name": "web",
            "uid": "dep-uid",
            "annotations": annotations
            if annotations is not None
            else {"deployment.kubernetes.io/revision": "3", "team": "a"},
        },
        "spec": {"paused": paused, "template": template(image)},
    }


def rs(revision: str | None, image: str, *, owner: str = "dep-uid", annotations: Obj | None = None) -> Obj:
    notes = dict(annotations or {})
    if revision is not None:
        notes["deployment.kubernetes.io/revision"] = revision
    return {
        "metadata": {
            "name": f"web-{image.replace(':', '')}",
            "annotations": notes,
            "ownerReferences": [{"uid": owner, "controller": True}],
        },
        "spec": {"template": template(image, hash_="abc123")},
    }


HISTORY = [rs("1", "img:1"), rs("2", "img:2"), rs("3", "img:3")]


def test_default_undo_goes_to_the_second_highest_revision_with_kubectls_patch() -> None:
    target = rs(
        "2",
        "img:2",
        annotations={"kubernetes.io/change-cause": "v2", "deployment.kubernetes.io/max-replicas": "4"},
    )
    plan = plan_undo(deployment(), [HISTORY[0], target, HISTORY[2]])
    assert plan.target_revision == 2 and not plan.skipped
    assert plan.message == "deployment.apps/web rolled back"
    assert plan.ops == [
        {"op": "replace", "path": "/spec/template", "value": template("img:2")},
        {
            "op": "replace",
            "path": "/metadata/annotations",
            # The Deployment keeps its skip-list values, takes the RS's others and drops its own others.
            "value": {"deployment.kubernetes.io/revision": "3", "kubernetes.io/change-cause": "v2"},
        },
    ]


def test_revisions_compare_by_number_not_text() -> None:
    history = [rs("9", "img:9"), rs("10", "img:10"), rs("2", "img:2")]
    assert plan_undo(deployment("img:10"), history).target_revision == 9


def test_to_revision_picks_that_revision() -> None:
    assert plan_undo(deployment(), HISTORY, to_revision=1).ops[0]["value"] == template("img:1")


def test_replicasets_not_controlled_by_the_deployment_are_no_history() -> None:
    foreign = rs("2", "img:2", owner="other")
    with pytest.raises(UndoError, match=r'^no rollout history found for deployment "web"$'):
        plan_undo(deployment(), [foreign, HISTORY[2]])


@pytest.mark.parametrize(
    ("dep", "history", "to_revision", "message"),
    [
        pytest.param(
            deployment(), [HISTORY[2]], 0, 'no rollout history found for deployment "web"', id="one rev"
        ),
        pytest.param(
            deployment(), HISTORY, 7, "unable to find specified revision 7 in history", id="missing rev"
        ),
        pytest.param(
            deployment(), HISTORY, -1, "unable to find specified revision -1 in history", id="negative"
        ),
        pytest.param(
            deployment(paused=True),
            HISTORY,
            0,
            "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again",
            id="paused",
        ),
        pytest.param(
            deployment(paused=True),
            [HISTORY[2]],
            0,
            'no rollout history found for deployment "web"',
            id="history is looked up before the pause check",
        ),
    ],
)
def test_refusals_carry_kubectls_messages(
    dep: Obj, history: list[Obj], to_revision: int, message: str
) -> None:
    with pytest.raises(UndoError) as caught:
        plan_undo(dep, history, to_revision)
    assert str(caught.value) == message


def test_matching_template_is_skipped_ignoring_the_hash_label() -> None:
    plan = plan_undo(deployment("img:2"), HISTORY, to_revision=2)
    assert plan.skipped and plan.ops == []
    assert plan.message == "skipped rollback (current template already matches revision 2)"


def test_unparsable_revisions_are_ignored_and_missing_ones_count_as_zero() -> None:
    history = [rs("abc", "img:x"), rs(None, "img:0"), rs("3", "img:3")]
    assert plan_undo(deployment(), history).ops[0]["value"] == template("img:0")


def test_images_of_a_pod_template() -> None:
    tpl = {"spec": {"containers": [{"name": "app", "image": "a:1"}, {"name": "side", "image": "b:2"}]}}
    assert images_of(tpl) == {"app": "a:1", "side": "b:2"}
    assert images_of({}) == {}


def test_image_patch_sets_only_the_named_containers_and_the_change_cause() -> None:
    assert image_patch({"app": "img:4"}, "deployreq ns/req") == {
        "metadata": {"annotations": {"kubernetes.io/change-cause": "deployreq ns/req"}},
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "img:4"}]}}},
    }
