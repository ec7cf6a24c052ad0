"""Server-side Tables for ``kubectl get``: CRD printer columns and the built-in printers' usual columns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubesim.api import printers
from kubesim.api.durations import age
from kubesim.api.jsonpath import evaluate
from kubesim.api.printers import column, meta_cells
from kubesim.api.resources import ResourceType, storage_version

Obj = dict[str, Any]
Cell = Any


def jsonpath(obj: Any, path: str) -> list[Any]:
    """Every match of a printer column's JSONPath (see :mod:`kubesim.api.jsonpath`)."""
    return evaluate(obj, path)


def _custom_columns(rt: ResourceType) -> tuple[list[Obj], Callable[[Obj], list[Cell]]]:
    assert rt.crd is not None
    columns = storage_version(rt.crd).get("additionalPrinterColumns") or []
    defs = [column("Name", "string", "name", "Name must be unique within a namespace.")]
    if not columns:
        defs.append(column("Age", "date"))
        return defs, lambda o: [meta_cells(o), age(o.get("metadata", {}).get("creationTimestamp"))]
    for col in columns:
        defs.append(
            column(
                col["name"],
                col.get("type", "string"),
                col.get("format", ""),
                col.get("description", ""),
                int(col.get("priority", 0)),
            )
        )

    def cells(obj: Obj) -> list[Cell]:
        row: list[Cell] = [meta_cells(obj)]
        for col in columns:
            found = jsonpath(obj, col["jsonPath"])
            value = found[0] if found else None
            if value is not None and col.get("type") == "date":
                value = age(str(value))
            elif isinstance(value, dict | list):
                import json

                value = json.dumps(value, separators=(",", ":"))
            row.append(value)
        return row

    return defs, cells


def columns_for(rt: ResourceType) -> tuple[list[Obj], Callable[[Obj], list[Cell]]]:
    return _custom_columns(rt) if rt.is_custom else printers.builtin(rt)


_HIDDEN_ANNOTATIONS = ("deprecated.daemonset.template.generation",)
"""Annotations a v1.36 Table row's object leaves out (the DaemonSet strategy's template generation)."""


def partial_metadata(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    if any(key in annotations for key in _HIDDEN_ANNOTATIONS):
        shown = {k: v for k, v in annotations.items() if k not in _HIDDEN_ANNOTATIONS}
        meta = {k: v for k, v in meta.items() if k != "annotations"} | (
            {"annotations": shown} if shown else {}
        )
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}


_DEFAULT_CONVERTOR = frozenset(
    {
        ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("rbac.authorization.k8s.io", "roles"),
        ("rbac.authorization.k8s.io", "clusterroles"),
    }
)


def to_table(
    rt: ResourceType,
    objects: list[Obj],
    resource_version: str,
    continue_token: str = "",
    include_object: str = "Metadata",
    with_columns: bool = True,
) -> Obj:
    defs, cells = columns_for(rt)
    rows = []
    for obj in objects:
        row: Obj = {"cells": cells(obj)}
        if include_object == "Object":
            row["object"] = obj
        elif include_object == "None":
            row["object"] = None  # a RawExtension left empty encodes as null
        else:
            row["object"] = partial_metadata(obj)
        rows.append(row)
    meta: Obj = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    # the default table convertor (kinds without a printer) leaves an empty list's rows nil
    shown_rows: list[Obj] | None = rows if rows or rt.key not in _DEFAULT_CONVERTOR else None
    table: Obj = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "rows": shown_rows}
    if with_columns:
        table["columnDefinitions"] = defs
    else:
        table["columnDefinitions"] = None
    return table
