"""Label and field selectors as the real server parses and matches them."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim.api.errors import ApiError
from kubesim.api.resources import BUILTINS, ResourceType
from kubesim.api.selectors import field_predicate, label_predicate, matches_label_selector, selector_string


def _rt(plural: str) -> ResourceType:
    return next(rt for rt in BUILTINS if rt.plural == plural)


def _obj(labels: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web-1", "namespace": "prod", "labels": labels or {}}, **fields}


LABELS = {"app": "web", "tier": "front", "canary": ""}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("app=web", True),
        ("app==web", True),
        ("app=api", False),
        ("app!=api", True),
        ("app!=web", False),
        ("missing!=x", True),
        ("app in (web,api)", True),
        ("app in (api, db)", False),
        ("app notin (api)", True),
        ("missing notin (api)", True),
        ("tier", True),
        ("missing", False),
        ("!missing", True),
        ("!tier", False),
        ("canary=", True),
        ("app=web,tier=front", True),
        ("app=web,tier=back", False),
        ("app in (web),!missing,tier", True),
        (" app = web ", True),
        ("app in (web,)", True),
        ("canary in ()", True),
        ("!canary", False),
    ],
)
def test_label_selector_matches(selector: str, expected: bool) -> None:
    assert label_predicate(selector)(_obj(LABELS)) is expected


def test_objects_without_labels_match_only_negative_requirements() -> None:
    obj = {"metadata": {"name": "x"}}
    assert label_predicate("!app")(obj)
    assert label_predicate("app!=web")(obj)
    assert not label_predicate("app")(obj)


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("app web", "unable to parse requirement: found 'web', expected: in, notin, =, ==, !=, gt, lt"),
        ("env IN (a)", "unable to parse requirement: found 'IN', expected: in, notin, =, ==, !=, gt, lt"),
        ("test-label=====name1", "unable to parse requirement: found '==', expected: identifier"),
        ("app in web", "unable to parse requirement: found 'web' expected: '('"),
        ("app in (web", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("app=web tier", "found 'tier', expected: ',' or 'end of string'"),
        ("app=web,", "found '', expected: identifier after ','"),
        ("(x)", "found '(', expected: !, identifier, or 'end of string'"),
        (
            "replicas>x",
            "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, "
            "the value must be an integer",
        ),
    ],
)
def test_bad_label_selector_is_400_with_the_parser_message(selector: str, message: str) -> None:
    with pytest.raises(ApiError) as info:
        label_predicate(selector)
    assert (info.value.code, info.value.reason) == (400, "BadRequest")
    assert info.value.message == message


def test_invalid_label_value_is_400() -> None:
    with pytest.raises(ApiError) as info:
        label_predicate("app=-web")
    assert info.value.message.startswith(
        'unable to parse requirement: values[0][app]: Invalid value: "-web": a valid label must be an empty string'
    )


@pytest.mark.parametrize(
    ("selector", "expected"), [("n>3", True), ("n<3", False), ("n>10", False), ("x>1", False)]
)
def test_gt_and_lt_compare_integers(selector: str, expected: bool) -> None:
    assert label_predicate(selector)(_obj({"n": "5", "x": "abc"})) is expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (None, True),
        ({}, True),
        ({"matchLabels": {"app": "web"}}, True),
        ({"matchLabels": {"app": "api"}}, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "x"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, False),
        ({"matchExpressions": [{"key": "gone", "operator": "DoesNotExist"}]}, True),
        (
            {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "gone", "operator": "Exists"}]},
            False,
        ),
    ],
)
def test_label_selector_objects(selector: dict[str, Any] | None, expected: bool) -> None:
    assert matches_label_selector(selector, LABELS) is expected


def test_selector_string_is_what_kubectl_shows() -> None:
    selector = {
        "matchLabels": {"tier": "front", "app": "web"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "dev"]},
            {"key": "old", "operator": "DoesNotExist"},
        ],
    }
    assert selector_string(selector) == "app=web,env in (dev,prod),!old,tier=front"


POD = _obj(spec={"nodeName": "node-1", "restartPolicy": "Always"}, status={"phase": "Running"})
EVENT = _obj(
    involvedObject={"kind": "Deployment", "name": "web", "namespace": "prod", "uid": "u1"},
    reason="ScalingReplicaSet",
    type="Normal",
    source={"component": "deployment-controller"},
)


@pytest.mark.parametrize(
    ("plural", "obj", "selector", "expected"),
    [
        ("configmaps", _obj(), "metadata.name=web-1", True),
        ("configmaps", _obj(), "metadata.name!=web-1", False),
        ("configmaps", _obj(), "metadata.namespace==prod", True),
        ("pods", POD, "spec.nodeName=node-1,status.phase=Running", True),
        ("pods", POD, "status.phase!=Running", False),
        ("pods", POD, "spec.restartPolicy=Always", True),
        ("pods", _obj(spec={}), "spec.nodeName=", True),
        ("events", EVENT, "involvedObject.kind=Deployment,involvedObject.name=web", True),
        ("events", EVENT, "involvedObject.uid=u1,reason=ScalingReplicaSet,type=Normal", True),
        ("events", EVENT, "source=deployment-controller", True),
        ("events", EVENT, "involvedObject.namespace=dev", False),
        ("secrets", _obj(type="kubernetes.io/tls"), "type=kubernetes.io/tls", True),
    ],
)
def test_field_selector_matches(plural: str, obj: dict[str, Any], selector: str, expected: bool) -> None:
    assert field_predicate(_rt(plural), selector)(obj) is expected


@pytest.mark.parametrize(
    ("plural", "selector", "message"),
    [
        ("pods", "metadata.labels=x", "field label not supported: metadata.labels"),
        ("events", "count=1", "field label not supported: count"),
        (
            "configmaps",
            "spec.nodeName=x",
            '"spec.nodeName" is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
        (
            "deployments",
            "spec.replicas=1",
            '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
    ],
)
def test_unsupported_field_is_400(plural: str, selector: str, message: str) -> None:
    with pytest.raises(ApiError) as info:
        field_predicate(_rt(plural), selector)
    assert info.value.code == 400
    assert info.value.message == message
