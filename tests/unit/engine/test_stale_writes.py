"""Writes decided on a stale copy are refused by the API server and never overwrite a newer object.

Found by chaos: an operator stopped after deciding, resumed after another took its lock and finished the request,
then wrote its stale status (a succeeded request back to Queued, so the release ran twice) and its image patch.
"""

from __future__ import annotations

from typing import Any

import pytest

from deployreq import errors
from deployreq.api.change import Fields, StatusChange
from deployreq.api.request import Request
from deployreq.cluster.cache import Cache
from deployreq.engine.actions import Actions


class FakeApi:
    """One stored request with a resourceVersion; a patch naming another resourceVersion is a 409."""

    def __init__(self, stored: dict[str, Any]) -> None:
        self.stored = stored
        self.patches: list[dict[str, Any]] = []

    async def patch(self, path: str, body: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.patches.append(body)
        rv = (body.get("metadata") or {}).get("resourceVersion")
        if rv and rv != self.stored["metadata"]["resourceVersion"]:
            raise errors.Conflict(409, "Conflict", "the object has been modified")
        self.stored = {
            **self.stored,
            "status": {**self.stored.get("status", {}), **body.get("status", {})},
            "metadata": {**self.stored["metadata"], "resourceVersion": "9"},
        }
        return self.stored

    async def get_or_none(self, path: str) -> dict[str, Any]:
        return self.stored


class NoEvents:
    def record(self, *args: Any, **kwargs: Any) -> None:
        return None


def request(rv: str, phase: str) -> dict[str, Any]:
    return {
        "apiVersion": "deployreq.dev/v1alpha1",
        "kind": "DeploymentRequest",
        "metadata": {"name": "r", "namespace": "ns", "uid": "u", "resourceVersion": rv, "generation": 1},
        "spec": {"deployment": "web", "images": [{"container": "app", "image": "img:2"}]},
        "status": {"phase": phase},
    }


async def test_a_status_write_names_the_copy_it_was_decided_on() -> None:
    api = FakeApi(request("5", "Queued"))
    actions = Actions(api, Cache(), NoEvents())  # type: ignore[arg-type]
    await actions.write_status(Request.parse(request("5", "Queued")), StatusChange(Fields(queue_position=2)))
    assert api.patches == [{"metadata": {"resourceVersion": "5"}, "status": {"queuePosition": 2}}]


async def test_a_status_write_from_a_stale_copy_is_refused_and_the_fresh_copy_cached() -> None:
    api = FakeApi(request("8", "Succeeded"))  # another operator finished it meanwhile
    cache = Cache()
    actions = Actions(api, cache, NoEvents())  # type: ignore[arg-type]
    with pytest.raises(errors.Conflict):
        await actions.write_status(
            Request.parse(request("5", "Pending")), StatusChange(Fields(queue_position=1))
        )
    assert api.stored["status"] == {"phase": "Succeeded"}  # nothing overwritten
    # what the worker's next read of its index returns for the request: the fresh copy, not the stale one
    assert Request.parse(cache._fresh(request("5", "Pending"))).phase.value == "Succeeded"
