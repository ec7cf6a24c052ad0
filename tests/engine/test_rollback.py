"""A request whose new pods crash-loop, pass by pass: the rollback decided, kubectl's undo written (guarded by the
generation judged), then RolledBack once the old version is available again."""

from __future__ import annotations

from typing import Any

from deployreq.api.phases import Phase
from tests.engine.harness import BAD, NAMESPACE, Bench, kinds, rolled_out, submit


async def crash_looping(bench: Bench) -> bool:
    pods = (await bench.client.get(f"/api/v1/namespaces/{NAMESPACE}/pods")).get("items", [])
    statuses: list[dict[str, Any]] = [
        cs
        for pod in pods
        if pod["spec"]["containers"][0]["image"] == BAD
        for cs in (pod.get("status") or {}).get("containerStatuses") or []
    ]
    return any(cs.get("restartCount", 0) >= 2 for cs in statuses)


async def test_a_crash_looping_release_is_rolled_back_pass_by_pass(bench: Bench) -> None:
    await bench.until(lambda: rolled_out(bench))
    await submit(bench.client, "bad", BAD)
    writes = await bench.step()
    assert kinds(writes)[-2:] == ["PATCH deployment", "PATCH status"]
    patched = (await bench.deployment())["metadata"]["generation"]

    await bench.until(lambda: crash_looping(bench))
    bench.clock.advance(1)
    # The failure seen: RollingBack (the cause recorded), then in the same pass the undo, written as a JSON patch
    # guarded by the generation judged, and its record; the old pods are not available again yet.
    writes = await bench.step()
    assert kinds(writes) == ["PATCH status", "PATCH deployment", "PATCH status"]
    rolling = writes[0].status
    assert rolling["phase"] == Phase.ROLLING_BACK
    assert "exited" in rolling["failure"] and rolling["message"].startswith("Rolling back: ")
    undo = writes[1].body
    assert undo[0] == {"op": "test", "path": "/metadata/generation", "value": patched}
    assert [op["path"] for op in undo[1:]] == ["/spec/template", "/metadata/annotations"]
    assert writes[2].status["rollback"]["targetRevision"] == 1
    assert writes[2].status["rollback"]["patchedGeneration"] == patched + 1
    dep = await bench.deployment()
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/web:1"

    await bench.until(lambda: rolled_out(bench))
    bench.clock.advance(1)
    writes = await bench.step()
    assert kinds(writes) == ["PATCH status", "PATCH request", "PUT lease"]
    req = await bench.request("bad")
    assert req.phase == Phase.ROLLED_BACK
    assert req.status.message is not None and req.status.message.startswith("Rolled back to revision 1: ")
    history = [h.phase for h in req.status.history or []]
    assert history == [Phase.DEPLOYING, Phase.ROLLING_BACK, Phase.ROLLED_BACK]
    assert not req.has_finalizer
