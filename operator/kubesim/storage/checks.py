"""The generic registry's refusals, worded as the real server words them: object names, a terminating namespace,
a missing resourceVersion, failed delete preconditions."""

from __future__ import annotations

import re

from kubesim.api import errors
from kubesim.api.resources import ResourceType
from kubesim.storage.objects import Obj

DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def validate_name(rt: ResourceType, name: str) -> None:
    if not name:
        raise errors.invalid(
            rt.kind,
            rt.group,
            "",
            [
                errors.Cause(
                    "metadata.name",
                    "Required value: name or generateName is required",
                    "FieldValueRequired",
                )
            ],
        )
    if rt.group in ("rbac.authorization.k8s.io", "apiregistration.k8s.io"):  # path segment names (v1.)
        _validate_path_segment(rt, name)
        return
    if len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        raise errors.invalid(
            rt.kind,
            rt.group,
            name,
            [
                errors.Cause(
                    "metadata.name",
                    f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric '
                    "characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
                    "'example.com', regex used for validation is "
                    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                )
            ],
        )


def _validate_path_segment(rt: ResourceType, name: str) -> None:
    """RBAC objects' names only need to be a path segment (ValidateRBACName): ``system:discovery`` is one."""
    problem = ""
    if name in (".", ".."):
        problem = f"may not be '{name}'"
    else:
        problem = next((f"may not contain '{c}'" for c in ("/", "%") if c in name), "")
    if problem:
        cause = errors.Cause("metadata.name", f'Invalid value: "{name}": {problem}')
        raise errors.invalid(rt.kind, rt.group, name, [cause])


def namespace_terminating(rt: ResourceType, namespace: str, name: str) -> errors.ApiError:
    """The NamespaceLifecycle admission plugin's refusal."""
    err = errors.forbidden(
        f'{rt.plural}{"." + rt.group if rt.group else ""} "{name}" is forbidden: unable to create new '
        f"content in namespace {namespace} because it is being terminated",
        rt.plural,
        rt.group,
        name,
    )
    err.causes.append(
        errors.Cause(
            "metadata.namespace", f"namespace {namespace} is being terminated", "NamespaceTerminating"
        )
    )
    return err


def resource_version_required(rt: ResourceType, name: str) -> errors.ApiError:
    """The registry's message: the resource (not the kind) names the object."""
    return errors.invalid(
        rt.plural,
        rt.group,
        name,
        [errors.Cause("metadata.resourceVersion", "Invalid value: 0: must be specified for an update")],
    )


def check_preconditions(
    rt: ResourceType, name: str, meta: Obj, precondition_uid: str | None, precondition_rv: str | None
) -> None:
    """The storage layer's precondition errors: the kind (not the resource) names the object."""
    qualified_kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    if precondition_uid and precondition_uid != meta.get("uid"):
        raise errors.ApiError(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {qualified_kind} "{name}": the UID in the precondition '
            f"({precondition_uid}) does not match the UID in record ({meta.get('uid')}). The object might "
            "have been deleted and then recreated",
            name=name,
            group=rt.group,
            kind=rt.kind,
        )
    if precondition_rv and precondition_rv != meta.get("resourceVersion"):
        raise errors.ApiError(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {qualified_kind} "{name}": the ResourceVersion in the '
            f"precondition ({precondition_rv}) does not match the ResourceVersion in record "
            f"({meta.get('resourceVersion')}). The object might have been modified",
            name=name,
            group=rt.group,
            kind=rt.kind,
        )
