"""The registry's per-resource strategies, as the generic store asks them."""

from __future__ import annotations

from kubesim.api.resources import BUILTINS, ResourceType
from kubesim.registry.customresources import CustomResourceStrategy
from kubesim.registry.deployments import DeploymentStrategy
from kubesim.registry.namespaces import NamespaceStrategy
from kubesim.registry.strategies import strategy_for
from kubesim.storage.strategy import Strategy


def builtin(group: str, plural: str) -> ResourceType:
    return next(rt for rt in BUILTINS if rt.key == (group, plural))


def test_each_resource_gets_its_registry_strategy() -> None:
    assert type(strategy_for(builtin("apps", "deployments"))) is DeploymentStrategy
    assert type(strategy_for(builtin("", "namespaces"))) is NamespaceStrategy
    assert type(strategy_for(builtin("", "configmaps"))) is Strategy


def test_a_deployment_annotation_change_bumps_generation_a_replicaset_one_does_not() -> None:
    old = {"metadata": {"annotations": {"a": "1"}}, "spec": {"replicas": 1}}
    new = {"metadata": {"annotations": {"a": "2"}}, "spec": {"replicas": 1}}
    assert strategy_for(builtin("apps", "deployments")).generation_changed(old, new)
    assert not strategy_for(builtin("apps", "replicasets")).generation_changed(old, new)


def test_the_status_subresource_keeps_the_stored_spec() -> None:
    strategy = strategy_for(builtin("apps", "deployments"))
    old = {"metadata": {"name": "d"}, "spec": {"replicas": 1}, "status": {"replicas": 0}}
    incoming = {"metadata": {"name": "d", "annotations": {"x": "y"}}, "spec": {"replicas": 5}, "status": {}}
    new = strategy.prepare_for_status_update(incoming, old)
    assert new["spec"] == {"replicas": 1}
    assert new["status"] == {}
    assert new["metadata"]["annotations"] == {"x": "y"}


def test_a_terminating_namespace_is_held_by_its_spec_finalizers() -> None:
    strategy = strategy_for(builtin("", "namespaces"))
    assert strategy.always_marks_on_delete
    assert strategy.held_after_update({"spec": {"finalizers": ["kubernetes"]}})
    assert not strategy.held_after_update({"spec": {"finalizers": []}})
    marked: dict[str, object] = {}
    strategy.before_mark_deleted(marked)
    assert marked == {"status": {"phase": "Terminating"}}


def test_custom_resources_drop_the_status_of_a_create() -> None:
    rt = ResourceType(
        group="example.com",
        version="v1",
        plural="widgets",
        kind="Widget",
        singular="widget",
        namespaced=True,
        subresources=frozenset({"status"}),
        has_generation=True,
        crd={"spec": {}},
    )
    strategy = strategy_for(rt)
    assert isinstance(strategy, CustomResourceStrategy)
    obj = {"metadata": {"name": "w"}, "status": {"x": 1}}
    strategy.prepare_for_create(obj)
    assert "status" not in obj
    assert obj["metadata"]["generation"] == 1
