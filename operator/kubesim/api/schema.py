"""Custom resource admission as apiextensions-apiserver does it: default, prune, then validate the structural
openAPIV3Schema (with ``x-kubernetes-validations`` CEL rules through cel-python), with field errors worded as the
real server words them."""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kubesim.api import errors
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


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return f'"{_type_name(value)}"'
    return str(value)


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


@functools.lru_cache(maxsize=512)
def _cel_program(rule: str) -> Any:
    import celpy

    env = celpy.Environment()
    return env.program(env.compile(rule))


def _cel(rule: str, value: Any, old: Any) -> bool:
    import celpy

    to_cel = celpy.json_to_cel  # type: ignore[attr-defined]
    activation = {"self": to_cel(value)}
    if old is not None:
        activation["oldSelf"] = to_cel(old)
    result = _cel_program(rule).evaluate(activation)
    if isinstance(result, Exception):
        raise result
    return bool(result)


_INT_BITS = {"int32": 32, "int64": 64}


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def _is_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return "/" in text


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return False
    return True


_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
# the string formats kube-openapi's strfmt registry checks (a few common ones)
_STRING_FORMATS: dict[str, Callable[[str], bool]] = {
    "uuid": lambda v: bool(_UUID.match(v)),
    "ipv4": lambda v: _is_ip(v, 4),
    "ipv6": lambda v: _is_ip(v, 6),
    "cidr": _is_cidr,
    "byte": _is_base64,
    # strfmt's email: an address with a local part, an @ and a domain
    "email": lambda v: bool(re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", v)),
}


def _rule_message(rule: Obj, value: Any, old: Any) -> str:
    """``message``, or ``messageExpression`` evaluated like the rule (falling back as the server does)."""
    if rule.get("messageExpression"):
        import celpy

        to_cel = celpy.json_to_cel  # type: ignore[attr-defined]
        activation = {"self": to_cel(value)}
        if old is not None:
            activation["oldSelf"] = to_cel(old)
        try:
            result = _cel_program(rule["messageExpression"]).evaluate(activation)
        except Exception:  # an erroring messageExpression falls back to message or the rule
            result = None
        if isinstance(result, str) and result.strip():
            return str(result)
    return str(rule.get("message") or f"failed rule: {rule['rule']}")


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
        self.add(path, f"Invalid value: {_show(value)}: {detail}")

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
                    _type_name(value),
                    f"{path} in body must be of type integer,string: {_show(_type_name(value))}",
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
                    f"Invalid value: {_show(_type_name(value))}: "
                    f'{path} in body must be of type {expected}: "{_type_name(value)}"',
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
            if "oldSelf" in rule["rule"] and old is None:
                continue
            # the server shows the schema's type, not the value, in a rule's Invalid value
            shown = f'"{schema.get("type", "")}"'
            try:
                ok = _cel(rule["rule"], value, old)
            except Exception as exc:  # a rule that cannot evaluate is reported, as the server does
                self.cel_causes.append(
                    errors.Cause(path, f"Invalid value: {shown}: rule evaluation error: {exc}")
                )
                continue
            if not ok:
                field = path + rule.get("fieldPath", "")
                message = _rule_message(rule, value, old)
                reason = rule.get("reason", "FieldValueInvalid")
                text = {
                    "FieldValueForbidden": f"Forbidden: {message}",
                    "FieldValueRequired": f"Required value: {message}",
                    "FieldValueDuplicate": f"Duplicate value: {_show(message)}",
                }.get(
                    reason,
                    f"Invalid value: {_show(value)}: {message}"
                    if _is_scalar(value)
                    else f"Invalid value: {message}",
                )  # v1.36 shows scalars only
                self.cel_causes.append(errors.Cause(field, text, reason))

    def _scalar(self, value: Any, schema: Schema, path: str) -> None:
        if "enum" in schema and value not in schema["enum"]:
            supported = ", ".join(_show(v) for v in schema["enum"])
            self.add(
                path,
                f"Unsupported value: {_show(value)}: supported values: {supported}",
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
            if fmt in _STRING_FORMATS and not _STRING_FORMATS[fmt](value):
                self.add(
                    path,
                    f"Invalid value: {_show(value)}: {path} in body must be of type {fmt}: {_show(value)}",
                    "FieldValueTypeInvalid",
                )
            if schema.get("format") == "date":
                try:
                    datetime.strptime(value, "%Y-%m-%d")
                except ValueError:
                    self.invalid(path, value, f"{path} in body must be of type date: {_show(value)}")
            if schema.get("format") == "date-time":
                try:
                    datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    self.invalid(path, value, f"{path} in body must be of type date-time: {_show(value)}")
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
                        errors.Cause(f"{path}[{i}]", f"Duplicate value: {_show(item)}", "FieldValueDuplicate")
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
                f"{_type_name(node) if not isinstance(node, str) else 'string'}, expected int64",
            )
        ]
    if node < 0:
        return [errors.Cause(json_path, f"Invalid value: {node}: should be a non-negative integer")]
    return []


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
