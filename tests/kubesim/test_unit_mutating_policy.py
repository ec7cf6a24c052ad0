"""MutatingAdmissionPolicy in kubesim without HTTP: the requested-by policy of manifests/base over configmaps
(who asked is recorded whatever the user wrote, and kept on changes of anything else), the order of policies and
mutations, failure policies, and what is refused at create. Messages as kube-apiserver v1.36 words them
(tests/fidelity/cases/mutating_policy.yaml compares them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim.api import errors
from kubesim.simulator import Simulator
from kubesim.storage.admission import Requester

Obj = dict[str, Any]
GROUP = "admissionregistration.k8s.io"
KEY = "deployreq.dev/requested-by"
MANIFEST = (
    Path(__file__).resolve().parents[2]
    / "manifests"
    / "components"
    / "requested-by"
    / "requested-by-policy.yaml"
)


@pytest.fixture
def sim() -> Simulator:
    s = Simulator()
    s.store.create(s.store.require("", "namespaces"), None, {"metadata": {"name": "team"}})
    return s


def install(sim: Simulator, pol: Obj, name: str = "p") -> None:
    pol = {"metadata": {"name": name}, **pol}
    sim.store.create(
        sim.store.require(GROUP, "mutatingadmissionpolicies"), None, pol, requester=Requester("a")
    )
    bind = {"metadata": {"name": name}, "spec": {"policyName": name}}
    sim.store.create(sim.store.require(GROUP, "mutatingadmissionpolicybindings"), None, bind)


def requested_by_over_configmaps(sim: Simulator) -> None:
    """The installed policy, matching configmaps and comparing their data instead of a request's spec."""
    policy, _ = yaml.safe_load_all(MANIFEST.read_text())
    spec = policy["spec"]
    spec["matchConstraints"]["resourceRules"] = [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["configmaps"],
        }
    ]
    for variable in spec["variables"]:
        variable["expression"] = variable["expression"].replace(".spec", ".data")
    install(sim, {"spec": spec})


def write(sim: Simulator, name: str, user: str, old: Obj | None = None, **body: Any) -> Obj:
    rt = sim.store.require("", "configmaps")
    obj: Obj = {"metadata": {"name": name, **body.pop("metadata", {})}, **body}
    requester = Requester(user, ("system:authenticated",))
    if old is None:
        return sim.store.create(rt, "team", obj, requester=requester)
    obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
    return sim.store.update(rt, "team", name, obj, requester=requester)


def who(obj: Obj) -> str | None:
    return (obj["metadata"].get("annotations") or {}).get(KEY)


def test_who_asked_is_recorded_whatever_they_wrote_and_kept_on_other_changes(sim: Simulator) -> None:
    requested_by_over_configmaps(sim)
    plain = write(sim, "plain", "alice", data={"a": "1"})  # no annotations map at all
    assert plain["metadata"]["annotations"] == {KEY: "alice"}
    claimed = write(
        sim, "c", "bob", data={"a": "1"}, metadata={"annotations": {KEY: "mallory", "other": "x"}}
    )
    assert claimed["metadata"]["annotations"] == {KEY: "bob", "other": "x"}
    same_data = write(sim, "c", "carol", claimed, data={"a": "1"}, metadata={"annotations": {KEY: "mallory"}})
    assert who(same_data) == "bob"
    none_at_all = write(sim, "c", "carol", same_data, data={"a": "1"})
    assert none_at_all["metadata"]["annotations"] == {KEY: "bob"}
    changed = write(
        sim, "c", "carol", none_at_all, data={"a": "2"}, metadata={"annotations": {KEY: "mallory"}}
    )
    assert who(changed) == "carol"
    # nobody's field: the field manager recorded the request before admission
    assert "requested-by" not in str(changed["metadata"].get("managedFields") or "")


def test_a_write_from_before_the_policy_stays_without_the_annotation(sim: Simulator) -> None:
    old = write(sim, "c", "alice", data={"a": "1"})
    requested_by_over_configmaps(sim)
    assert who(write(sim, "c", "bob", old, data={"a": "1"}, metadata={"annotations": {KEY: "bob"}})) is None


def jsonpatch(expression: str, **spec: Any) -> Obj:
    constraints = {
        "resourceRules": [
            {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}
        ]
    }
    mutations = [{"patchType": "JSONPatch", "jsonPatch": {"expression": expression}}]
    return {
        "spec": {
            "reinvocationPolicy": "Never",
            "matchConstraints": constraints,
            "mutations": mutations,
            **spec,
        }
    }


def test_policies_in_name_order_each_seeing_the_last_ones_object(sim: Simulator) -> None:
    install(
        sim, jsonpatch("[JSONPatch{op: 'add', path: '/data/second', value: object.data.first + '!'}]"), "b"
    )
    install(sim, jsonpatch("[JSONPatch{op: 'add', path: '/data', value: {'first': 'x'}}]"), "a")
    assert write(sim, "c", "alice")["data"] == {"first": "x", "second": "x!"}


def test_a_failing_mutation_denies_under_fail_and_is_skipped_under_ignore(sim: Simulator) -> None:
    install(sim, jsonpatch("[JSONPatch{op: 'remove', path: '/metadata/labels/nope'}]"), "fail")
    with pytest.raises(errors.ApiError) as caught:
        write(sim, "c", "alice", metadata={"labels": {"x": "y"}})
    text = (
        "policy 'fail' with binding 'fail' denied request: JSON Patch: error in remove for path: "
        "'/metadata/labels/nope': Unable to remove nonexistent key: nope: missing value"
    )
    assert (caught.value.code, caught.value.reason, caught.value.message) == (403, "Invalid", text)
    sim2 = Simulator()
    sim2.store.create(sim2.store.require("", "namespaces"), None, {"metadata": {"name": "team"}})
    install(sim2, jsonpatch("[JSONPatch{op: 'add', path: '/data/x', value: 1 / 0}]", failurePolicy="Ignore"))
    assert write(sim2, "c", "alice").get("data") is None


def test_an_invalid_policy_is_refused_with_the_real_messages(sim: Simulator) -> None:
    with pytest.raises(errors.ApiError) as caught:
        install(sim, {"spec": {}})
    assert [c.message for c in caught.value.causes] == [
        "Required value",
        "Required value: mutations must contain at least one item",
        "Required value",
    ]
    assert [c.field for c in caught.value.causes] == [
        "spec.matchConstraints",
        "spec.mutations",
        "spec.reinvocationPolicy",
    ]
