"""Render the CRD in ``crds/`` from the pydantic model: ``python -m deployreq.crdgen [--check] DIR``.

pydantic's JSON schema is turned into a structural openAPIV3Schema as the API server requires: references inlined,
``anyOf`` with null collapsed to the type, int-or-string expressed with ``x-kubernetes-int-or-string``, no titles,
and ``default: {}`` on optional objects so that the server applies their nested defaults.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import Any

import yaml

from deployreq import model

Schema = dict[str, Any]
FILE_NAME = f"{model.PLURAL}.{model.GROUP}.yaml"
_DROP = ("title", "discriminator")


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_resolve(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].split("/")[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _resolve(merged, defs)
    return {k: _resolve(v, defs) for k, v in node.items() if k not in _DROP and k != "$defs"}


def _structural(node: Schema, in_spec: bool) -> Schema:
    node = dict(node)
    if node.get("x-kubernetes-int-or-string"):
        node.pop("anyOf", None)
        node.pop("type", None)
        return node
    if node.get("x-kubernetes-preserve-unknown-fields") and "anyOf" not in node and "type" not in node:
        node.pop("default", None)
        return node
    if "anyOf" in node:
        options = [o for o in node.pop("anyOf") if o.get("type") != "null"]
        default = node.pop("default", None)
        # a union of scalars keeps its first type (the model's only unions are number|integer)
        node = {**options[0], **node}
        if default is not None:
            node["default"] = default
    if node.get("type") == "object" and "properties" in node:
        required = set(node.get("required") or [])
        props = {}
        for name, prop in node["properties"].items():
            sub = _structural(prop, False)
            if (
                in_spec
                and sub.get("type") == "object"
                and "properties" in sub
                and name not in required
                and "default" not in sub
                and not sub.get("x-kubernetes-validations")
            ):
                sub["default"] = {}
            if sub.get("default") is None:
                sub.pop("default", None)
            props[name] = sub
        node["properties"] = props
        node.pop("additionalProperties", None)
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        node["items"] = _structural(node["items"], False)
        if node.get("default") == []:
            node.pop("default")
    if node.get("type") == "number" and "default" in node and isinstance(node["default"], int):
        node["default"] = float(node["default"])
    return node


def schema_of(cls: type[model.Model], in_spec: bool) -> Schema:
    raw = cls.model_json_schema(by_alias=True, mode="validation")
    return _structural(_resolve(raw, raw.get("$defs", {})), in_spec)


def render() -> dict[str, Any]:
    spec_schema = schema_of(model.DeploymentRequestSpec, True)
    spec_schema.pop("description", None)
    status_schema = schema_of(model.DeploymentRequestStatus, False)
    status_schema.pop("description", None)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{model.PLURAL}.{model.GROUP}",
            "labels": {"app.kubernetes.io/name": "deployreq"},
        },
        "spec": {
            "group": model.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": model.KIND,
                "listKind": f"{model.KIND}List",
                "plural": model.PLURAL,
                "singular": model.KIND.lower(),
                "shortNames": ["deployreq", "dreq"],
                "categories": ["deployreq"],
            },
            "versions": [
                {
                    "name": model.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": model.PRINTER_COLUMNS,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "DeploymentRequest asks the operator to set images on a Deployment of its "
                            "namespace, queued, gated, verified and rolled back on failure.",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                        }
                    },
                }
            ],
        },
    }


def dump() -> str:
    header = "# Generated by `make crds` from operator/deployreq/model.py. Do not edit by hand.\n"
    return header + yaml.safe_dump(render(), sort_keys=False, width=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deployreq.crdgen", description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--check", action="store_true", help="exit 1 with a diff when the file differs")
    args = parser.parse_args(argv)
    path = args.directory / FILE_NAME
    text = dump()
    if args.check:
        current = path.read_text() if path.exists() else ""
        if current != text:
            sys.stdout.writelines(
                difflib.unified_diff(current.splitlines(True), text.splitlines(True), str(path), "generated")
            )
            print(f"\n{path} is out of date: run `make crds`", file=sys.stderr)
            return 1
        return 0
    args.directory.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
