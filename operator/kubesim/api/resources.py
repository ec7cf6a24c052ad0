"""The resource types kubesim serves: the built-ins it knows and the custom resources of installed CRDs.

A :class:`ResourceType` is what discovery lists and what the store keys objects by. Custom resource types are built
from a CRD object by :func:`from_crd` when the CRD is established.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()
    verbs: tuple[str, ...] = ALL_VERBS
    # Generation is tracked (metadata.generation) and bumped on spec changes.
    has_generation: bool = False
    # PUT without metadata.resourceVersion is allowed (true for most built-ins, false for custom resources).
    unconditional_update: bool = True
    # The storage object of a custom resource's CRD (None for built-ins).
    crd: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    # Other versions of the same custom resource served (all stored as ``version``).
    served_versions: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @cached_property
    def key(self) -> tuple[str, str]:
        """Identity of the stored collection: (group, plural); cached, as every store event asks every
        controller's listener for it."""
        return (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def is_custom(self) -> bool:
        return self.crd is not None


def _t(group: str, version: str, plural: str, kind: str, namespaced: bool = True, **kw: Any) -> ResourceType:
    return ResourceType(group, version, plural, kind, kind.lower(), namespaced, **kw)


BUILTINS: tuple[ResourceType, ...] = (
    _t(
        "",
        "v1",
        "namespaces",
        "Namespace",
        False,
        short_names=("ns",),
        subresources=frozenset({"status"}),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    ),
    _t("", "v1", "pods", "Pod", short_names=("po",), categories=("all",), subresources=frozenset({"status"})),
    _t(
        "",
        "v1",
        "services",
        "Service",
        short_names=("svc",),
        categories=("all",),
        subresources=frozenset({"status", "proxy"}),
    ),
    _t("", "v1", "endpoints", "Endpoints", short_names=("ep",)),
    _t(
        "",
        "v1",
        "replicationcontrollers",
        "ReplicationController",
        short_names=("rc",),
        categories=("all",),
        subresources=frozenset({"status", "scale"}),
        has_generation=True,
    ),
    _t("", "v1", "nodes", "Node", False, short_names=("no",), subresources=frozenset({"status"})),
    _t("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    _t("", "v1", "secrets", "Secret"),
    _t("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",), subresources=frozenset({"token"})),
    _t("", "v1", "events", "Event", short_names=("ev",)),
    _t("events.k8s.io", "v1", "events", "Event", short_names=("ev",)),
    _t(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        short_names=("deploy",),
        categories=("all",),
        subresources=frozenset({"status", "scale"}),
        has_generation=True,
    ),
    _t(
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        short_names=("rs",),
        categories=("all",),
        subresources=frozenset({"status", "scale"}),
        has_generation=True,
    ),
    _t("apps", "v1", "controllerrevisions", "ControllerRevision"),
    _t(
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        short_names=("sts",),
        categories=("all",),
        subresources=frozenset({"status", "scale"}),
        has_generation=True,
    ),
    _t(
        "apps",
        "v1",
        "daemonsets",
        "DaemonSet",
        short_names=("ds",),
        categories=("all",),
        subresources=frozenset({"status"}),
        has_generation=True,
    ),
    _t(
        "batch",
        "v1",
        "cronjobs",
        "CronJob",
        short_names=("cj",),
        categories=("all",),
        subresources=frozenset({"status"}),
        has_generation=True,
    ),
    _t(
        "batch",
        "v1",
        "jobs",
        "Job",
        categories=("all",),
        subresources=frozenset({"status"}),
        has_generation=True,
    ),
    _t(
        "apiregistration.k8s.io",
        "v1",
        "apiservices",
        "APIService",
        False,
        categories=("api-extensions",),
        subresources=frozenset({"status"}),
    ),
    _t("coordination.k8s.io", "v1", "leases", "Lease"),
    _t(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        short_names=("crd", "crds"),
        categories=("api-extensions",),
        subresources=frozenset({"status"}),
        has_generation=True,
    ),
    _t(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        short_names=("pdb",),
        subresources=frozenset({"status"}),
        has_generation=True,
    ),
    _t(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        short_names=("netpol",),
        has_generation=True,
    ),
    _t(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        False,
        categories=("api-extensions",),
        subresources=frozenset({"status"}),
        has_generation=True,
        unconditional_update=False,
    ),
    _t(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        False,
        categories=("api-extensions",),
        has_generation=True,
        unconditional_update=False,
    ),
    _t(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingadmissionpolicies",
        "MutatingAdmissionPolicy",
        False,
        categories=("api-extensions",),
        has_generation=True,
        unconditional_update=False,
    ),
    _t(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingadmissionpolicybindings",
        "MutatingAdmissionPolicyBinding",
        False,
        categories=("api-extensions",),
        has_generation=True,
        unconditional_update=False,
    ),
    _t("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _t("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _t("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _t("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    # Reviews: created and answered, never stored (kubesim.auth.authz; SelfSubjectReview: handlers/create.py).
    _t(
        "authentication.k8s.io",
        "v1",
        "selfsubjectreviews",
        "SelfSubjectReview",
        False,
        verbs=("create",),
    ),
    _t(
        "authorization.k8s.io",
        "v1",
        "localsubjectaccessreviews",
        "LocalSubjectAccessReview",
        verbs=("create",),
    ),
    _t(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        False,
        verbs=("create",),
    ),
    _t(
        "authorization.k8s.io",
        "v1",
        "selfsubjectrulesreviews",
        "SelfSubjectRulesReview",
        False,
        verbs=("create",),
    ),
    _t("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False, verbs=("create",)),
)
REVIEWS = frozenset(
    {
        "localsubjectaccessreviews",
        "selfsubjectaccessreviews",
        "selfsubjectrulesreviews",
        "subjectaccessreviews",
    }
)


def storage_version(crd: dict[str, Any]) -> dict[str, Any]:
    for version in crd["spec"]["versions"]:
        if version.get("storage"):
            return dict(version)
    return dict(crd["spec"]["versions"][0])


def from_crd(crd: dict[str, Any]) -> ResourceType:
    """The resource type a CRD defines, keyed by its storage version."""
    spec = crd["spec"]
    names = spec["names"]
    version = storage_version(crd)
    subresources = frozenset((version.get("subresources") or {}).keys())
    return ResourceType(
        group=spec["group"],
        version=version["name"],
        plural=names["plural"],
        kind=names["kind"],
        singular=names.get("singular") or names["kind"].lower(),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        subresources=subresources,
        # the apiextensions handler lists a custom resource's verbs in this order
        verbs=("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"),
        has_generation=True,
        unconditional_update=False,
        crd=crd,
        served_versions=tuple(v["name"] for v in spec["versions"] if v.get("served", True)),
    )
