"""The mirrored DeployPolicies and Namespaces (cluster/policies.py): which valid policies govern a namespace by its
labels, an invalid one ignored, each version parsed once."""

from __future__ import annotations

from typing import Any

from deployreq.cluster.policies import Policies, slim_namespace

Obj = dict[str, Any]


def policy(name: str, rv: str, **spec: Any) -> Obj:
    return {"metadata": {"name": name, "resourceVersion": rv}, "spec": spec}


def test_policies_govern_the_namespaces_their_selectors_match_and_an_invalid_one_is_ignored() -> None:
    book = Policies()
    book.namespaces.put(
        slim_namespace({"metadata": {"name": "shop", "labels": {"tier": "prod"}, "annotations": {}}})
    )
    book.namespaces.put({"metadata": {"name": "dev"}})
    book.mirror.put(policy("prod", "1", namespaceSelector={"matchLabels": {"tier": "prod"}}, maxConcurrent=2))
    book.mirror.put(policy("all", "2", namespaceSelector={}))
    zone = {"days": ["Mon"], "start": "09:00", "end": "10:00", "timeZone": "Mars/Olympus"}
    book.mirror.put(policy("broken", "3", namespaceSelector={}, windows=[zone]))
    assert [p.name for p in book.governing("shop")] == ["all", "prod"]
    assert [p.name for p in book.governing("dev")] == ["all"]
    assert [p.name for p in book.governing("unknown")] == ["all"]


def test_each_version_is_parsed_once_and_a_new_one_again() -> None:
    book = Policies()
    book.mirror.put(policy("prod", "1", namespaceSelector={}, maxConcurrent=1))
    first = book.all()[0]
    assert book.all()[0] is first
    book.mirror.put(policy("prod", "2", namespaceSelector={}, maxConcurrent=3))
    assert book.all()[0].spec.max_concurrent == 3


def test_a_namespace_is_kept_with_its_name_and_labels_only() -> None:
    body = {
        "metadata": {"name": "shop", "labels": {"a": "b"}, "annotations": {"x": "y"}, "managedFields": []}
    }
    assert slim_namespace(body) == {"metadata": {"name": "shop", "labels": {"a": "b"}}}


def test_only_a_new_spec_counts_as_a_change_not_a_status_write() -> None:
    book = Policies()
    assert not book.specs_changed()
    book.mirror.put(policy("prod", "1", namespaceSelector={}))
    assert book.specs_changed()
    assert not book.specs_changed()
    book.mirror.put({**policy("prod", "2", namespaceSelector={}), "status": {"active": 1}})
    assert not book.specs_changed(), "the operator's own status write"
    book.mirror.put(policy("prod", "3", namespaceSelector={}, maxConcurrent=1))
    assert book.specs_changed()
    book.mirror.drop(policy("prod", "3"))
    assert book.specs_changed()


def test_every_policy_is_listed_with_what_it_parsed_to_invalid_ones_too() -> None:
    book = Policies()
    zone = {"days": ["Mon"], "start": "09:00", "end": "10:00", "timeZone": "Mars/Olympus"}
    book.mirror.put(policy("b-broken", "1", namespaceSelector={}, windows=[zone]))
    book.mirror.put(policy("a-fine", "2", namespaceSelector={}))
    [(first, fine), (_, broken)] = book.every()
    assert first["metadata"]["name"] == "a-fine" and not isinstance(fine, str)
    assert isinstance(broken, str) and "Mars/Olympus" in broken
