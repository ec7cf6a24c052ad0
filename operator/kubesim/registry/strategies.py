"""Each resource type's strategy: the generic registry's defaults unless its registry differs."""

from __future__ import annotations

from kubesim.api.resources import ResourceType
from kubesim.registry.customresources import CustomResourceStrategy
from kubesim.registry.deployments import DeploymentStrategy
from kubesim.registry.namespaces import NamespaceStrategy
from kubesim.storage.strategy import Strategy


class ReplicationControllerStrategy(Strategy):
    """core/v1 ReplicationControllers orphan their pods unless told otherwise (DefaultGarbageCollectionPolicy)."""

    default_propagation = "Orphan"


STRATEGIES: dict[tuple[str, str], type[Strategy]] = {
    ("", "replicationcontrollers"): ReplicationControllerStrategy,
    ("apps", "deployments"): DeploymentStrategy,
    ("", "namespaces"): NamespaceStrategy,
}


def strategy_for(rt: ResourceType) -> Strategy:
    if rt.is_custom:
        return CustomResourceStrategy(rt)
    return STRATEGIES.get(rt.key, Strategy)(rt)
