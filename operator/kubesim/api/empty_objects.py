"""The field containers an empty object of each built-in type already has once encoded: what a create does not
add to its manager's set (FieldsV1 ``.``) because the zero object has it."""

from __future__ import annotations

Path = tuple[str, ...]

# The containers an empty object of a built-in type has once encoded (non-pointer structs without omitempty):
# a create adds only their members. Anything else a write adds whole is itself a member of the writer's set
# (FieldsV1 "."), as the real field manager's comparison with the previous object finds.
_ZERO_BUILTIN: dict[tuple[str, str], tuple[Path, ...]] = {
    ("apps", "deployments"): (
        ("f:spec",),
        ("f:spec", "f:template"),
        ("f:spec", "f:template", "f:metadata"),
        ("f:spec", "f:template", "f:spec"),
        ("f:spec", "f:template", "f:spec", "f:containers"),
        ("f:spec", "f:strategy"),
        ("f:status",),
    ),
    ("apps", "replicasets"): (
        ("f:spec",),
        ("f:spec", "f:template"),
        ("f:spec", "f:template", "f:metadata"),
        ("f:spec", "f:template", "f:spec"),
        ("f:spec", "f:template", "f:spec", "f:containers"),
        ("f:status",),
    ),
    ("", "pods"): (("f:spec",), ("f:spec", "f:containers"), ("f:status",)),
    ("", "services"): (("f:spec",), ("f:status",), ("f:status", "f:loadBalancer")),
    ("", "namespaces"): (("f:spec",), ("f:status",)),
    ("coordination.k8s.io", "leases"): (("f:spec",),),
    ("policy", "poddisruptionbudgets"): (("f:spec",), ("f:status",)),
    ("networking.k8s.io", "networkpolicies"): (("f:spec",), ("f:spec", "f:podSelector")),
    ("rbac.authorization.k8s.io", "rolebindings"): (("f:roleRef",),),
    ("authorization.k8s.io", "selfsubjectaccessreviews"): (("f:spec",), ("f:status",)),
    ("authorization.k8s.io", "subjectaccessreviews"): (("f:spec",), ("f:status",)),
    ("authorization.k8s.io", "localsubjectaccessreviews"): (("f:spec",), ("f:status",)),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): (("f:roleRef",),),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"): (("f:spec",), ("f:status",)),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"): (("f:spec",),),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicies"): (("f:spec",),),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicybindings"): (("f:spec",),),
    **{
        ("apps", plural): (
            ("f:spec",),
            ("f:spec", "f:template"),
            ("f:spec", "f:template", "f:metadata"),
            ("f:spec", "f:template", "f:spec"),
            ("f:spec", "f:template", "f:spec", "f:containers"),
            ("f:spec", "f:updateStrategy"),
            ("f:status",),
        )
        for plural in ("statefulsets", "daemonsets")
    },
    ("", "replicationcontrollers"): (("f:spec",), ("f:status",)),
    ("batch", "cronjobs"): (
        ("f:spec",),
        ("f:spec", "f:jobTemplate"),
        ("f:spec", "f:jobTemplate", "f:metadata"),
        ("f:spec", "f:jobTemplate", "f:spec"),
        ("f:spec", "f:jobTemplate", "f:spec", "f:template"),
        ("f:spec", "f:jobTemplate", "f:spec", "f:template", "f:metadata"),
        ("f:spec", "f:jobTemplate", "f:spec", "f:template", "f:spec"),
        ("f:spec", "f:jobTemplate", "f:spec", "f:template", "f:spec", "f:containers"),
        ("f:status",),
    ),
    ("batch", "jobs"): (
        ("f:spec",),
        ("f:spec", "f:template"),
        ("f:spec", "f:template", "f:metadata"),
        ("f:spec", "f:template", "f:spec"),
        ("f:spec", "f:template", "f:spec", "f:containers"),
        ("f:status",),
    ),
}


def zero_object_paths(key: tuple[str, str], custom: bool) -> frozenset[Path]:
    if custom:
        return frozenset({("f:metadata",)})
    return frozenset({("f:metadata",), *_ZERO_BUILTIN.get(key, ())})
