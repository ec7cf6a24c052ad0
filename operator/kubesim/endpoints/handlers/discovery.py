"""The discovery documents (legacy and aggregated), API groups, resource lists and OpenAPI v3, from the types the
store serves."""

from __future__ import annotations

from aiohttp import web

from kubesim.api import errors
from kubesim.api.resources import ResourceType
from kubesim.endpoints import discovery, openapi
from kubesim.endpoints.codec import json_response


def not_found() -> errors.ApiError:
    return errors.ApiError(404, "NotFound", "the server could not find the requested resource")


def version() -> web.Response:
    """``/version``."""
    return json_response(discovery.VERSION_INFO)


def api_versions(types: list[ResourceType], accept: str) -> web.Response:
    """``/api``."""
    if discovery.wants_aggregated(accept):
        return aggregated(types, legacy=True)
    return json_response(discovery.api_versions())


def api_groups(types: list[ResourceType], accept: str) -> web.Response:
    """``/apis``."""
    if discovery.wants_aggregated(accept):
        return aggregated(types, legacy=False)
    return json_response(discovery.api_group_list(types))


def aggregated(types: list[ResourceType], legacy: bool) -> web.Response:
    response = json_response(discovery.aggregated(types, legacy))
    response.headers["Content-Type"] = discovery.AGGREGATED
    return response


def group(types: list[ResourceType], name: str) -> web.Response:
    for item in discovery.api_group_list(types)["groups"]:
        if item["name"] == name:
            return json_response({"kind": "APIGroup", "apiVersion": "v1", **item})
    raise not_found()


def resource_list(types: list[ResourceType], group: str, version: str) -> web.Response:
    listing = discovery.resource_list(types, group, version)
    if listing is None:  # no handler at all: the mux's plain 404
        return web.Response(status=404, text="404 page not found\n", content_type="text/plain")
    return json_response(listing)


def openapi_v3(types: list[ResourceType], path: str) -> web.Response:
    if path.rstrip("/") == "/openapi/v3":
        return json_response(openapi.index(types))
    rest = path.removeprefix("/openapi/v3/").strip("/").split("/")
    if rest[0] == "api" and len(rest) == 2:
        return json_response(openapi.document(types, "", rest[1]))
    if rest[0] == "apis" and len(rest) == 3:
        return json_response(openapi.document(types, rest[1], rest[2]))
    raise not_found()
