"""Bodies in and out: JSON answers (a newline after each document), Status errors, request bodies in JSON, YAML or
the protobuf kubectl's typed clients send, and the decoders' error messages."""

from __future__ import annotations

import json
from typing import Any

import orjson
from aiohttp import web

from kubesim.api import errors, protobuf
from kubesim.api.resources import ResourceType
from kubesim.storage.objects import Obj

JSON = "application/json"
PROTOBUF = "application/vnd.kubernetes.protobuf"


def dumps(obj: Any) -> bytes:
    try:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # what orjson refuses, such as integers beyond 64 bits
        return json.dumps(obj, separators=(",", ":")).encode()


def json_response(obj: Any, status: int = 200) -> web.Response:
    # The real server's JSON encoder ends every document with a newline.
    return web.Response(body=dumps(obj) + b"\n", status=status, content_type=JSON)


def error_response(err: errors.ApiError) -> web.Response:
    response = json_response(err.to_status(), err.code)
    if err.retry_after is not None:
        response.headers["Retry-After"] = str(err.retry_after)
    return response


def protobuf_to_json(body: bytes, content_type: str) -> bytes:
    """A protobuf body as JSON (the kinds kubectl's typed clients create); 415 for any other protobuf."""
    if body and body != b"{}" and content_type.startswith(PROTOBUF):
        try:
            body = dumps(protobuf.decode(body))
        except protobuf.Unsupported:
            body = b""
    if not body and content_type.startswith(PROTOBUF):
        raise errors.ApiError(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - "
            "accepted media types include: application/json, application/yaml",
        )
    return body


def decode(body: bytes) -> Obj:
    try:
        obj = json.loads(body or b"{}")
    except ValueError:
        import yaml

        try:
            obj = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"couldn't get version/kind; json parse error: {exc}") from None
    if not isinstance(obj, dict):
        raise errors.bad_request("the body of the request must be an object")
    return obj


def decode_typed(content_type: str, rt: ResourceType, body: bytes) -> Obj:
    """A create or update body; a JSON body that is not a JSON object is refused as the real decoder words it."""
    if content_type.startswith(JSON) and not rt.is_custom:
        problem = go_json_problem(body)
        if problem is not None:
            raise errors.bad_request(
                f"the object provided is unrecognized (must be of type {rt.kind}): couldn't get version/kind; "
                f"json parse error: {problem}"
            )
    return decode(body)


_GO_TYPEMETA = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'
)


def go_json_problem(body: bytes) -> str | None:
    """encoding/json's complaint about ``body`` with the decoder's snippet, or None for a JSON object."""
    text = body.decode("utf-8", "replace")
    snippet = text if text else "<empty>"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated"):
            return f"unexpected end of JSON input ({snippet})"
        char = text[exc.pos]
        where = {
            "Expecting property name enclosed in double quotes": "looking for beginning of object key string",
            "Expecting ':' delimiter": "after object key",
            "Expecting ',' delimiter": "after object key:value pair",
        }.get(exc.msg, "looking for beginning of value")
        return f"invalid character '{char}' {where} ({snippet})"
    if isinstance(value, dict):
        return None
    kind = {list: "array", str: "string", bool: "bool", type(None): "null"}.get(type(value), "number")
    if value is None:
        return None
    return f"json: cannot unmarshal {kind} into Go value of type {_GO_TYPEMETA} ({body.hex()})"


def kind_missing(rt: ResourceType, body: bytes) -> errors.ApiError:
    """The unstructured decoder's 400 for a custom resource without ``kind``."""
    text = body.decode("utf-8", "replace")
    snippet = text[:30] + " ..." if len(text) > 30 else text
    return errors.bad_request(
        f"the object provided is unrecognized (must be of type {rt.kind}): Object 'Kind' is missing in "
        f"'{text}' ({snippet})"
    )
