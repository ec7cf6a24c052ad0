"""OpenAPI v3, as much as kubectl reads: the index of group-versions, and per group-version a document whose
paths carry the ``fieldValidation`` parameter (so kubectl leaves field validation to the server) and whose
component schemas carry ``x-kubernetes-group-version-kind`` (CRD schemas in full; built-ins as open objects, so
kubectl's strategic merge falls back to its compiled-in types)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kubesim.api.resources import ResourceType, storage_version

Obj = dict[str, Any]


def gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def index(types: list[ResourceType]) -> Obj:
    paths: Obj = {}
    for gv in sorted({(rt.group, rt.version) for rt in types}):
        doc = document(types, *gv)
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16].upper()
        paths[gv_path(*gv)] = {"serverRelativeURL": f"/openapi/v3/{gv_path(*gv)}?hash={digest}"}
    return {"paths": paths}


_PARAMS = [
    {
        "name": "fieldValidation",
        "in": "query",
        "schema": {"type": "string", "uniqueItems": True},
        "description": "fieldValidation instructs the server on how to handle objects in the request containing "
        "unknown or duplicate fields.",
    },
    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
]


def _schema_name(rt: ResourceType) -> str:
    group = ".".join(reversed(rt.group.split("."))) if rt.group else "io.k8s.api.core"
    return f"{group}.{rt.version}.{rt.kind}"


def document(types: list[ResourceType], group: str, version: str) -> Obj:
    paths: Obj = {}
    schemas: Obj = {}
    for rt in types:
        if rt.group != group or rt.version != version:
            continue
        gvk = [{"group": rt.group, "version": rt.version, "kind": rt.kind}]
        base = f"/{gv_path(group, version)}"
        collection = (
            f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
        )
        op = {"parameters": _PARAMS, "x-kubernetes-group-version-kind": gvk[0], "responses": {"200": {}}}
        paths[collection] = {"post": op, "get": op}
        paths[f"{collection}/{{name}}"] = {"get": op, "put": op, "patch": op, "delete": op}
        if rt.crd is not None:
            schema = dict((storage_version(rt.crd).get("schema") or {}).get("openAPIV3Schema") or {})
        else:
            schema = {"type": "object"}
        schema["x-kubernetes-group-version-kind"] = gvk
        schemas[_schema_name(rt)] = schema
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0-kubesim"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
