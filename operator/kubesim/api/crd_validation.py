"""A CustomResourceDefinition validated as apiextensions-apiserver validates it when written."""

from __future__ import annotations

import re
from typing import Any

from kubesim.api import errors

Obj = dict[str, Any]
Schema = dict[str, Any]


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


def validate_crd(crd: Obj) -> None:
    spec = crd.get("spec") or {}
    name = crd.get("metadata", {}).get("name", "")
    causes: list[errors.Cause] = []
    names = spec.get("names") or {}
    for key in ("plural", "kind"):
        if not names.get(key):
            causes.append(errors.Cause(f"spec.names.{key}", "Required value", "FieldValueRequired"))
    plural = str(names.get("plural") or "")
    if plural and not _DNS_LABEL.match(plural):
        causes.append(errors.Cause("spec.names.plural", f'Invalid value: "{plural}": {_DNS_LABEL_MESSAGE}'))
    if not spec.get("group"):
        causes.append(errors.Cause("spec.group", "Required value", "FieldValueRequired"))
    scope = spec.get("scope")
    if not scope:
        causes.append(errors.Cause("spec.scope", "Required value", "FieldValueRequired"))
    elif scope not in ("Cluster", "Namespaced"):
        causes.append(
            errors.Cause(
                "spec.scope",
                f'Unsupported value: "{scope}": supported values: "Cluster", "Namespaced"',
                "FieldValueNotSupported",
            )
        )
    versions = spec.get("versions") or []
    if not versions:
        causes.append(
            errors.Cause(
                "spec.versions", "Invalid value: []: must have exactly one version marked as storage version"
            )
        )
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            errors.Cause(
                "spec.versions", "Invalid value: must have exactly one version marked as storage version"
            )
        )
    if names.get("plural") and spec.get("group") and name != f"{names['plural']}.{spec['group']}":
        causes.append(
            errors.Cause(
                "metadata.name", f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'
            )
        )
    for i, version in enumerate(versions):
        base = f"spec.versions[{i}]"
        root = (version.get("schema") or {}).get("openAPIV3Schema")
        if isinstance(root, dict):
            causes += _structural(root, f"{base}.schema.openAPIV3Schema", "at the root")
        for j, col in enumerate(version.get("additionalPrinterColumns") or []):
            causes += _printer_column(col, f"{base}.additionalPrinterColumns[{j}]")
    if causes:
        raise errors.invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, causes)


def _structural(node: Schema, path: str, where: str) -> list[errors.Cause]:
    """Structural schema: every specified field, item and the root have a type (int-or-string and preserved
    unknown fields excepted)."""
    causes: list[errors.Cause] = []
    exempt = node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields")
    if not node.get("type") and not exempt:
        causes.append(
            errors.Cause(f"{path}.type", f"Required value: must not be empty {where}", "FieldValueRequired")
        )
    for key, sub in (node.get("properties") or {}).items():
        if isinstance(sub, dict):
            causes += _structural(sub, f"{path}.properties[{key}]", "for specified object fields")
    items = node.get("items")
    if isinstance(items, dict):
        causes += _structural(items, f"{path}.items", "for specified array items")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        causes += _structural(extra, f"{path}.additionalProperties", "for specified additionalProperties")
    return causes


_COLUMN_TYPES = ("integer", "number", "string", "boolean", "date")


def _printer_column(col: Obj, path: str) -> list[errors.Cause]:
    causes: list[errors.Cause] = []
    if not col.get("name"):
        causes.append(errors.Cause(f"{path}.name", "Required value", "FieldValueRequired"))
    kind = col.get("type")
    if not kind:
        causes.append(errors.Cause(f"{path}.type", "Required value", "FieldValueRequired"))
    elif kind not in _COLUMN_TYPES:
        supported = ", ".join(f'"{t}"' for t in _COLUMN_TYPES)
        causes.append(
            errors.Cause(
                f"{path}.type",
                f'Unsupported value: "{kind}": supported values: {supported}',
                "FieldValueNotSupported",
            )
        )
    json_path = col.get("jsonPath")
    if not json_path:
        causes.append(errors.Cause(f"{path}.jsonPath", "Required value", "FieldValueRequired"))
    elif not str(json_path).startswith("."):
        causes.append(
            errors.Cause(
                f"{path}.jsonPath",
                f'Invalid value: "{json_path}": must be a simple json path starting with .',
            )
        )
    return causes
