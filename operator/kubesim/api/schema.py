"""Custom resource admission as apiextensions-apiserver does it: default, prune, then validate the structural
openAPIV3Schema (with ``x-kubernetes-validations`` CEL rules through cel-python), with field errors worded as the
real server words them."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from kubesim.api import cel, errors
from kubesim.api.formats import STRING_FORMATS, show, type_name
from kubesim.api.resources import storage_version

Obj = dict[str, Any]
Schema = dict[str, Any]

_JSON_TYPES = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


# --- defaulting and pruning -------------------------------------------------------------------------------


def apply_defaults(value: Any, schema: Schema) -> Any:
    if isinstance(value, dict) and schema.get("type") == "object":
        for name, prop in (schema.get("properties") or {}).items():
            if name not in value and "default" in prop:
                value[name] = _copy(prop["default"])
            if name in value:
                value[name] = apply_defaults(value[name], prop)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in list(value):
                if key not in (schema.get("properties") or {}):
                    value[key] = apply_defaults(value[key], extra)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [apply_defaults(v, schema["items"]) for v in value]
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def prune(value: Any, schema: Schema, path: str, pruned: list[str]) -> Any:
    if schema.get("x-kubernetes-preserve-unknown-fields") and "properties" not in schema:
        return value
    if isinstance(value, dict) and (schema.get("type") == "object" or "properties" in schema):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key in list(value):
            sub_path = f"{path}.{key}" if path else key
            sub_schema = props.get(key) or (extra if isinstance(extra, dict) else None)
            if value[key] is None and sub_schema is not None and not sub_schema.get("nullable"):
                del value[key]  # null in a non-nullable field is dropped, as structural defaulting does
                continue
            if key in props:
                value[key] = prune(value[key], props[key], sub_path, pruned)
            elif isinstance(extra, dict):
                value[key] = prune(value[key], extra, sub_path, pruned)
            elif extra is True or schema.get("x-kubernetes-preserve-unknown-fields"):
                continue
            else:
                pruned.append(sub_path)
                del value[key]
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [prune(v, schema["items"], f"{path}[{i}]", pruned) for i, v in enumerate(value)]
    return value


# --- validation --------------------------------------------------------------------------------------------


_INT_BITS = {"int32": 32, "int64": 64}


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


class Validator:
    """Collects causes in the real server's phases: OpenAPI schema errors (``causes``), list-type invariants
    (``list_causes``), then CEL rules (``cel_causes``), which are skipped after a blocking schema error."""

    def __init__(self) -> None:
        self.causes: list[errors.Cause] = []
        self.list_causes: list[errors.Cause] = []
        self.cel_causes: list[errors.Cause] = []

    def add(self, path: str, message: str, reason: str = "FieldValueInvalid") -> None:
        self.causes.append(errors.Cause(path, message, reason))

    def invalid(self, path: str, value: Any, detail: str) -> None:
        self.add(path, f"Invalid value: {show(value)}: {detail}")

    def validate(self, value: Any, schema: Schema, path: str, old: Any = None) -> None:
        if value is None:
            if not schema.get("nullable"):
                self.invalid(
                    path, "null", f'{path} in body must be of type {schema.get("type", "object")}: "null"'
                )
            return
        if schema.get("x-kubernetes-int-or-string"):
            if not isinstance(value, int | str) or isinstance(value, bool):
                self.invalid(
                    path,
                    type_name(value),
                    f"{path} in body must be of type integer,string: {show(type_name(value))}",
                )
                return
        elif "type" in schema:
            expected = schema["type"]
            ok = isinstance(value, _JSON_TYPES.get(expected, (object,))) and not (
                isinstance(value, bool) and expected in ("integer", "number")
            )
            if expected == "integer" and isinstance(value, float) and value.is_integer():
                ok = True
            if not ok:
                self.add(
                    path,
                    f"Invalid value: {show(type_name(value))}: "
                    f'{path} in body must be of type {expected}: "{type_name(value)}"',
                    "FieldValueTypeInvalid",
                )
                if "enum" in schema and value not in schema["enum"]:
                    self._scalar(value, {"enum": schema["enum"]}, path)
                return
        self._scalar(value, schema, path)
        if isinstance(value, dict):
            self._object(value, schema, path, old)
        elif isinstance(value, list):
            self._array(value, schema, path, old)
        for rule in schema.get("x-kubernetes-validations") or []:
            self._rule(rule, value, schema, path, old)

    def _rule(self, rule: Obj, value: Any, schema: Schema, path: str, old: Any) -> None:
        """One ``x-kubernetes-validations`` rule; its failure goes to ``cel_causes``."""
        if "oldSelf" in rule["rule"] and old is None:
            return
        # the server shows the schema's type, not the value, in a rule's Invalid value
        shown = f'"{schema.get("type", "")}"'
        try:
            ok = cel.evaluate(rule["rule"], value, old)
        except Exception as exc:  # a rule that cannot evaluate refuses the object, as the server's does
            self.cel_causes.append(
                errors.Cause(path, f"Invalid value: {shown}: {cel.error_text(rule, str(exc))}")
            )
            return
        if not ok:
            field = path + rule.get("fieldPath", "")
            message = cel.rule_message(rule, value, old)
            reason = rule.get("reason", "FieldValueInvalid")
            text = {
                "FieldValueForbidden": f"Forbidden: {message}",
                "FieldValueRequired": f"Required value: {message}",
                "FieldValueDuplicate": f"Duplicate value: {show(message)}",
            }.get(
                reason,
                f"Invalid value: {show(value)}: {message}"
                if _is_scalar(value)
                else f"Invalid value: {message}",
            )  # v1.36 shows scalars only
            self.cel_causes.append(errors.Cause(field, text, reason))

    def _scalar(self, value: Any, schema: Schema, path: str) -> None:
        if "enum" in schema and value not in schema["enum"]:
            supported = ", ".join(show(v) for v in schema["enum"])
            self.add(
                path,
                f"Unsupported value: {show(value)}: supported values: {supported}",
                "FieldValueNotSupported",
            )
        if isinstance(value, str):
            # kube-openapi's stringValidator stops at the first of maxLength, minLength, pattern, and field.TooLong
            # omits the value: a too-long string is never echoed back (a 100 KB value gives a one-line error).
            if "maxLength" in schema and len(value) > schema["maxLength"]:  # runes, as kube-openapi counts
                self.add(
                    path, f"Too long: may not be more than {schema['maxLength']} bytes", "FieldValueTooLong"
                )
            elif "minLength" in schema and len(value) < schema["minLength"]:
                self.invalid(
                    path, value, f"{path} in body should be at least {schema['minLength']} chars long"
                )
            elif "pattern" in schema and not re.search(schema["pattern"], value):
                self.invalid(path, value, f"{path} in body should match '{schema['pattern']}'")
            fmt = str(schema.get("format", ""))
            if fmt in STRING_FORMATS and not STRING_FORMATS[fmt](value):
                self.add(
                    path,
                    f"Invalid value: {show(value)}: {path} in body must be of type {fmt}: {show(value)}",
                    "FieldValueTypeInvalid",
                )
            if schema.get("format") == "date":
                try:
                    datetime.strptime(value, "%Y-%m-%d")
                except ValueError:
                    self.invalid(path, value, f"{path} in body must be of type date: {show(value)}")
            if schema.get("format") == "date-time":
                try:
                    datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    self.invalid(path, value, f"{path} in body must be of type date-time: {show(value)}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            bits = _INT_BITS.get(str(schema.get("format")))
            if bits and not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
                self.invalid(path, value, f'{path} in body must be of type {schema["format"]}: "{value}"')
            if "minimum" in schema:
                if schema.get("exclusiveMinimum") and value <= schema["minimum"]:
                    self.invalid(path, value, f"{path} in body should be greater than {schema['minimum']}")
                elif value < schema["minimum"]:
                    self.invalid(
                        path, value, f"{path} in body should be greater than or equal to {schema['minimum']}"
                    )
            if "maximum" in schema:
                if schema.get("exclusiveMaximum") and value >= schema["maximum"]:
                    self.invalid(path, value, f"{path} in body should be less than {schema['maximum']}")
                elif value > schema["maximum"]:
                    self.invalid(
                        path, value, f"{path} in body should be less than or equal to {schema['maximum']}"
                    )

    def _object(self, value: Obj, schema: Schema, path: str, old: Any) -> None:
        for name in schema.get("required") or []:
            if name not in value:
                self.add(f"{path}.{name}" if path else name, "Required value", "FieldValueRequired")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            self.add(
                path,
                f"Too many: {len(value)}: must have at most {schema['maxProperties']} items",
                "FieldValueTooMany",
            )
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            self.invalid(
                path, value, f"{path} in body should have at least {schema['minProperties']} properties"
            )
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, sub in sorted(value.items()):  # kube-openapi visits properties by name
            sub_schema = props.get(key) or (extra if isinstance(extra, dict) else None)
            if sub_schema is not None:
                old_sub = old.get(key) if isinstance(old, dict) else None
                self.validate(sub, sub_schema, f"{path}.{key}" if path else key, old_sub)

    def _array(self, value: list[Any], schema: Schema, path: str, old: Any) -> None:
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            self.add(
                path,
                f"Too many: {len(value)}: must have at most {schema['maxItems']} items",
                "FieldValueTooMany",
            )
        if "minItems" in schema and len(value) < schema["minItems"]:
            self.invalid(path, len(value), f"{path} in body should have at least {schema['minItems']} items")
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "map":
            keys = schema.get("x-kubernetes-list-map-keys") or []
            seen: set[str] = set()
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    continue
                ident = {k: item.get(k) for k in keys if k in item}
                marker = repr(sorted(ident.items()))
                if marker in seen:
                    self.list_causes.append(
                        errors.Cause(
                            f"{path}[{i}]",
                            f"Duplicate value: {json.dumps(ident, separators=(',', ':'))}",  # v1.36: as JSON
                            "FieldValueDuplicate",
                        )
                    )
                seen.add(marker)
        elif list_type == "set" or schema.get("uniqueItems"):
            seen_values: list[Any] = []
            for i, item in enumerate(value):
                if item in seen_values:
                    self.list_causes.append(
                        errors.Cause(f"{path}[{i}]", f"Duplicate value: {show(item)}", "FieldValueDuplicate")
                    )
                seen_values.append(item)
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                self.validate(item, items, f"{path}[{i}]", None)


def admit_custom_resource(
    crd: Obj, obj: Obj, old: Obj | None, subresource: str | None, strict: bool = False
) -> None:
    """Default, prune and validate ``obj`` in place; 422 Invalid (or 400 for strict unknown fields)."""
    version = storage_version(crd)
    schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or {}
    kind = crd["spec"]["names"]["kind"]
    group = crd["spec"]["group"]
    name = obj.get("metadata", {}).get("name", "")
    props = schema.get("properties") or {}
    parts = (
        ["status"]
        if subresource == "status"
        else [k for k in props if k not in ("metadata", "apiVersion", "kind", "status")]
    )
    if subresource is None and "status" not in (version.get("subresources") or {}):
        parts.append("status")
    pruned: list[str] = []
    for key in list(obj):
        if key in ("metadata", "apiVersion", "kind"):
            continue
        if key not in props and not schema.get("x-kubernetes-preserve-unknown-fields"):
            pruned.append(key)
            del obj[key]
    validator = Validator()
    for part in parts:
        if part in obj and part in props:
            apply_defaults(obj[part], props[part])
            obj[part] = prune(obj[part], props[part], part, pruned)
    if strict and pruned:
        raise errors.bad_request(
            "strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in pruned)
        )
    for name_required in schema.get("required") or []:
        if name_required in parts and name_required not in obj:
            validator.add(name_required, "Required value", "FieldValueRequired")
    for part in parts:
        if part in obj and part in props:
            validator.validate(obj[part], props[part], part, (old or {}).get(part))
    schema_causes = validator.causes
    if subresource == "status":  # the status strategy validates status as the root: messages name it so
        schema_causes = [
            errors.Cause(c.field, c.message.replace(f"{c.field} in body", f"{c.field[7:]} in body"), c.reason)
            if c.field.startswith("status.")
            else c
            for c in schema_causes
        ]
    causes = schema_causes + _scale_causes(version, obj, subresource) + validator.list_causes
    if validator.cel_causes or "x-kubernetes-validations" in repr(schema):
        if any(c.reason in _BLOCKING for c in causes):
            causes.append(errors.Cause("<nil>", _CEL_SKIPPED))
        else:
            causes += validator.cel_causes
    if causes:
        raise errors.invalid(kind, group, name, causes)


# Schema errors after which CEL rules are not evaluated (apiextensions' hasBlockingErr).
_BLOCKING = frozenset(
    {
        "FieldValueNotSupported",
        "FieldValueRequired",
        "FieldValueTooLong",
        "FieldValueTooMany",
        "FieldValueTypeInvalid",
    }
)
_CEL_SKIPPED = (
    "Invalid value: null: some validation rules were not checked because the object was invalid; correct the "
    "existing errors to complete validation"
)


def _scale_causes(version: Obj, obj: Obj, subresource: str | None) -> list[errors.Cause]:
    """The scale subresource's check of the spec replicas field (validateScaleSpec)."""
    scale = (version.get("subresources") or {}).get("scale")
    which = "statusReplicasPath" if subresource == "status" else "specReplicasPath"
    if subresource not in (None, "status") or not isinstance(scale, dict) or not scale.get(which):
        return []
    json_path = str(scale[which])
    node: Any = obj
    for part in json_path.strip(".").split("."):
        if not isinstance(node, dict) or part not in node:
            return []
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, int | float):
        return [
            errors.Cause(
                json_path,
                f"Invalid value: 0: {json_path} accessor error: {node} is of the type "
                f"{type_name(node) if not isinstance(node, str) else 'string'}, expected int64",
            )
        ]
    if node < 0:
        return [errors.Cause(json_path, f"Invalid value: {node}: should be a non-negative integer")]
    return []
