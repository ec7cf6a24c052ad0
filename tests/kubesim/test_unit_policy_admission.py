"""ValidatingAdmissionPolicy in kubesim without HTTP: which writes a policy and binding match, how validations,
messages, variables, parameters, match conditions and failure policies decide, and the CEL extension functions.
Messages as kube-apiserver v1.36 words them (tests/fidelity/cases/admission_policy.yaml compares them)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubesim.admission.matching import Attributes, resources_match, rule_matches
from kubesim.api import errors, policy_cel
from kubesim.simulator import Simulator
from kubesim.storage.admission import Operation, Requester

Obj = dict[str, Any]
GROUP = "admissionregistration.k8s.io"


def attrs(**kw: Any) -> Attributes:
    base: Obj = {
        "operation": "CREATE",
        "group": "",
        "version": "v1",
        "resource": "configmaps",
        "subresource": "",
        "kind": "ConfigMap",
        "namespace": "team",
        "name": "x",
        "obj": {"metadata": {"name": "x", "labels": {"app": "web"}}},
        "old": None,
        "requester": Requester("alice"),
    }
    base.update(kw)
    return Attributes(**base)


RULE = {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}


@pytest.mark.parametrize(
    ("rule", "a", "expected"),
    [
        (RULE, attrs(), True),
        (RULE, attrs(operation="UPDATE"), False),
        ({**RULE, "operations": ["*"]}, attrs(operation="DELETE"), True),
        ({**RULE, "apiGroups": ["apps"]}, attrs(), False),
        ({**RULE, "resources": ["*"]}, attrs(), True),
        ({**RULE, "resources": ["*"]}, attrs(subresource="status"), False),  # "*" is no subresource
        ({**RULE, "resources": ["configmaps/*"]}, attrs(subresource="status"), True),
        ({**RULE, "resources": ["*/status"]}, attrs(subresource="status"), True),
        ({**RULE, "scope": "Cluster"}, attrs(), False),
        ({**RULE, "scope": "Namespaced"}, attrs(), True),
        ({**RULE, "resources": ["namespaces"], "scope": "Namespaced"}, attrs(resource="namespaces"), False),
        ({**RULE, "resources": ["namespaces"], "scope": "Cluster"}, attrs(resource="namespaces"), True),
    ],
)
def test_a_rule_matches_scope_operation_group_version_and_resource(
    rule: Obj, a: Attributes, expected: bool
) -> None:
    assert rule_matches(rule, a) is expected


def test_match_resources_selectors_excludes_and_resource_names() -> None:
    labels = {"tier": "prod"}
    assert resources_match({"resourceRules": [RULE]}, attrs(), labels)
    assert not resources_match({"namespaceSelector": {"matchLabels": {"tier": "dev"}}}, attrs(), labels)
    assert not resources_match({"objectSelector": {"matchLabels": {"app": "db"}}}, attrs(), labels)
    # an UPDATE matches when either the new or the old object is selected
    moved = attrs(
        operation="UPDATE", obj={"metadata": {"labels": {}}}, old={"metadata": {"labels": {"app": "db"}}}
    )
    assert resources_match({"objectSelector": {"matchLabels": {"app": "db"}}}, moved, labels)
    assert not resources_match({"resourceRules": [RULE], "excludeResourceRules": [RULE]}, attrs(), labels)
    assert not resources_match({"resourceRules": [{**RULE, "resourceNames": ["y"]}]}, attrs(), labels)
    assert resources_match({"resourceRules": [{**RULE, "resourceNames": ["x"]}]}, attrs(), labels)


# --- the plugin in a simulator's store -------------------------------------------------------------------------


def policy(validations: list[Obj], **spec: Any) -> Obj:
    constraints = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team"}},
        "resourceRules": [{**RULE, "operations": ["CREATE", "UPDATE", "DELETE"]}],
    }
    return {
        "metadata": {"name": "p"},
        "spec": {"matchConstraints": constraints, "validations": validations, **spec},
    }


def binding(**spec: Any) -> Obj:
    return {"metadata": {"name": "b"}, "spec": {"policyName": "p", "validationActions": ["Deny"], **spec}}


@pytest.fixture
def sim() -> Simulator:
    s = Simulator()
    s.store.create(s.store.require("", "namespaces"), None, {"metadata": {"name": "team"}})
    return s


def install(sim: Simulator, pol: Obj, bind: Obj) -> None:
    sim.store.create(
        sim.store.require(GROUP, "validatingadmissionpolicies"), None, pol, requester=Requester("a")
    )
    sim.store.create(sim.store.require(GROUP, "validatingadmissionpolicybindings"), None, bind)


def create_cm(sim: Simulator, name: str, data: Obj | None = None, user: str = "alice", **kw: Any) -> Obj:
    rt = sim.store.require("", "configmaps")
    body: Obj = {"metadata": {"name": name, **kw}, "data": data or {}}
    return sim.store.create(rt, "team", body, requester=Requester(user, ("system:authenticated",)))


def refusal(sim: Simulator, name: str, data: Obj | None = None, user: str = "alice") -> errors.ApiError:
    with pytest.raises(errors.ApiError) as caught:
        create_cm(sim, name, data, user)
    return caught.value


def test_a_failed_validation_denies_with_the_real_status(sim: Simulator) -> None:
    install(sim, policy([{"expression": "object.metadata.name.startsWith('ok')"}]), binding())
    err = refusal(sim, "bad")
    assert (err.code, err.reason) == (422, "Invalid")
    text = "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: failed expression: object.metadata.name.startsWith('ok')"
    assert err.message == f'configmaps "bad" is forbidden: {text}'
    assert err.to_status()["details"] == {"name": "bad", "kind": "configmaps", "causes": [{"message": text}]}
    create_cm(sim, "ok-1")


def test_reason_message_expression_and_user_info(sim: Simulator) -> None:
    validation = {
        "expression": "object.data.approver == request.userInfo.username",
        "messageExpression": "'approver must be ' + request.userInfo.username",
        "message": "unused",
        "reason": "Forbidden",
    }
    install(sim, policy([validation]), binding())
    err = refusal(sim, "a", {"approver": "alice"}, user="mallory")
    assert (err.code, err.reason) == (403, "Forbidden")
    assert err.message.endswith("denied request: approver must be mallory")
    create_cm(sim, "a", {"approver": "alice"}, user="alice")


def test_a_message_expression_that_is_not_a_usable_string_falls_back_to_message(sim: Simulator) -> None:
    validation = {"expression": "false", "message": " fixed ", "messageExpression": "'two\\nlines'"}
    install(sim, policy([validation]), binding())
    assert refusal(sim, "x").message.endswith("denied request: fixed")


def test_variables_are_evaluated_lazily_and_their_errors_named(sim: Simulator) -> None:
    variables = [
        {"name": "team", "expression": "object.data.team"},
        {"name": "ok", "expression": "variables.team.startsWith('t-')"},
    ]
    install(
        sim,
        policy(
            [{"expression": "variables.ok", "messageExpression": "'bad ' + variables.team"}],
            variables=variables,
        ),
        binding(),
    )
    assert refusal(sim, "x", {"team": "zz"}).message.endswith("denied request: bad zz")
    create_cm(sim, "y", {"team": "t-1"})
    assert refusal(sim, "z", {}).message.endswith(
        "denied request: expression 'variables.ok' resulted in error: composited variable \"ok\" fails to "
        'evaluate: composited variable "team" fails to evaluate: no such key: data'
    )


def test_failure_policy_decides_evaluation_errors(sim: Simulator) -> None:
    install(sim, policy([{"expression": "object.data.missing == 'x'"}]), binding())
    assert refusal(sim, "x", {"a": "b"}).message.endswith(
        "denied request: expression 'object.data.missing == 'x'' resulted in error: no such key: missing"
    )
    rt = sim.store.require(GROUP, "validatingadmissionpolicies")
    ignoring = sim.store.get(rt, None, "p")
    ignoring["spec"]["failurePolicy"] = "Ignore"
    sim.store.update(rt, None, "p", ignoring)
    create_cm(sim, "x")


def test_match_conditions_skip_the_validations(sim: Simulator) -> None:
    conditions = [{"name": "labelled", "expression": "has(object.metadata.labels)"}]
    install(sim, policy([{"expression": "false"}], matchConditions=conditions), binding())
    create_cm(sim, "plain")
    with pytest.raises(errors.ApiError):
        create_cm(sim, "labelled", labels={"a": "b"})


def test_params_by_name_and_the_parameter_not_found_action(sim: Simulator) -> None:
    sa = sim.store.require("", "serviceaccounts")
    sim.store.create(sa, "team", {"metadata": {"name": "limits", "annotations": {"prefix": "app-"}}})
    validation = {"expression": "object.metadata.name.startsWith(params.metadata.annotations.prefix)"}
    pol = policy([validation], paramKind={"apiVersion": "v1", "kind": "ServiceAccount"})
    install(sim, pol, binding(paramRef={"name": "limits", "parameterNotFoundAction": "Deny"}))
    refusal(sim, "db")
    create_cm(sim, "app-db")
    rt = sim.store.require(GROUP, "validatingadmissionpolicybindings")
    missing = sim.store.get(rt, None, "b")
    missing["spec"]["paramRef"]["name"] = "gone"
    sim.store.update(rt, None, "b", missing)
    assert refusal(sim, "app-2").message.endswith(
        "denied request: failed to configure binding: no params found for policy binding with `Deny` "
        "parameterNotFoundAction"
    )


def test_warn_and_audit_actions_admit_and_report(sim: Simulator) -> None:
    install(
        sim, policy([{"expression": "false", "message": "no"}]), binding(validationActions=["Warn", "Audit"])
    )
    requester = Requester("alice")
    sim.store.create(
        sim.store.require("", "configmaps"), "team", {"metadata": {"name": "x"}}, requester=requester
    )
    assert requester.warnings == ["Validation failed for ValidatingAdmissionPolicy 'p' with binding 'b': no"]
    assert '"message":"no"' in requester.annotations["validation.policy.admission.k8s.io/validation_failure"]


def test_writes_without_a_requester_and_the_policies_themselves_are_not_admitted(sim: Simulator) -> None:
    install(sim, policy([{"expression": "false"}]), binding())
    sim.store.create(sim.store.require("", "configmaps"), "team", {"metadata": {"name": "by-a-controller"}})


def test_an_invalid_policy_is_refused_with_the_real_messages(sim: Simulator) -> None:
    rt = sim.store.require(GROUP, "validatingadmissionpolicies")
    with pytest.raises(errors.ApiError) as caught:
        sim.store.create(rt, None, policy([{"expression": "params.x == 1"}, {"expression": "object.spec"}]))
    causes = [c.to_dict() for c in caught.value.causes]
    assert causes[0]["message"] == (
        'Invalid value: "params.x == 1": compilation failed: ERROR: <input>:1:1: undeclared reference to '
        "'params' (in container '')\n | params.x == 1\n | ^"
    )
    assert causes[1]["message"] == 'Invalid value: "object.spec": must evaluate to bool but got dyn'


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("'AbC'.lowerAscii() + 'x'.upperAscii()", "abcX"),
        ("'a,b,c'.split(',').size()", 3),
        ("['a', 'b'].join('-')", "a-b"),
        ("'hello'.substring(1, 3)", "el"),
        ("'hello'.indexOf('l')", 2),
        ("' x '.trim()", "x"),
        ("'a1b22'.findAll('[0-9]+')", ["1", "22"]),
        ("[1, 2, 3].sum()", 6),
        ("[3, 1].min()", 1),
        ("[1, 2].isSorted()", True),
        ("'abc'.matches('^a.c$')", True),
    ],
)
def test_kubernetes_cel_extension_functions(expression: str, expected: Any) -> None:
    policy_cel.compile_expression(expression, frozenset())
    assert policy_cel.evaluate(expression, {}) == expected


async def test_the_status_controller_applies_observed_generation_and_type_checking(simulator: Any) -> None:
    store = simulator.store
    rt = store.require(GROUP, "validatingadmissionpolicies")
    store.create(rt, None, policy([{"expression": "true"}]), requester=Requester("admin"))
    for _ in range(200):
        stored = store.get(rt, None, "p")
        if stored.get("status"):
            break
        await asyncio.sleep(0.01)
    assert stored["status"] == {"observedGeneration": 1, "typeChecking": {}}
    entry = next(
        e for e in stored["metadata"]["managedFields"] if e["manager"] == "validatingadmissionpolicy-status"
    )
    assert (entry["operation"], entry["subresource"]) == ("Apply", "status")
    assert entry["fieldsV1"] == {"f:status": {"f:observedGeneration": {}, "f:typeChecking": {}}}


def test_a_namespace_is_its_own_request_namespace_once_it_exists() -> None:
    rt = Simulator().store.require("", "namespaces")
    ns = {"metadata": {"name": "team"}}
    created = Attributes.of(Operation("create", rt, ns, None, requester=Requester("u")), Requester("u"))
    updated = Attributes.of(Operation("update", rt, ns, ns, requester=Requester("u")), Requester("u"))
    assert (created.namespace, updated.namespace) == ("", "team")
