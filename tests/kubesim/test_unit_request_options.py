"""Per-request options travel with the request: fieldValidation=Strict reaches admission through the write's
Operation, and the server keeps no flag of one request that another write could see."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from kubesim.api import errors
from kubesim.api.resources import BUILTINS
from kubesim.registry.customresources import admit_custom
from kubesim.storage.admission import Operation

CONFIGMAPS = next(rt for rt in BUILTINS if rt.key == ("", "configmaps"))


def configmap() -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "bogus": 1}


def test_a_strict_write_refuses_unknown_fields() -> None:
    with pytest.raises(errors.ApiError) as caught:
        admit_custom(Operation("create", CONFIGMAPS, configmap(), None, strict=True))
    assert 'unknown field "bogus"' in caught.value.message


def test_a_write_without_strict_validation_is_admitted() -> None:
    admit_custom(Operation("create", CONFIGMAPS, configmap(), None))


async def test_a_strict_request_in_flight_does_not_make_other_writes_strict(simulator: Any) -> None:
    """A watch sent with fieldValidation=Strict stays open; a controller's write meanwhile is not strict."""
    url = f"{simulator.url}/api/v1/namespaces/default/configmaps?watch=1&fieldValidation=Strict"
    headers = {"Authorization": "Bearer test-token"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=headers, ssl=simulator.client_ssl()) as response,
    ):
        assert response.status == 200
        await asyncio.sleep(0.05)
        simulator.store.create(CONFIGMAPS, "default", configmap())
        line = await asyncio.wait_for(response.content.readline(), 5)
        assert b'"ADDED"' in line
    assert not hasattr(simulator.server, "strict")
