"""A 409 on the final status write (regression test for a79ed1a): the request changed after the worker read it, so
its Succeeded write, named by the old resourceVersion, is refused; the worker reads the fresh copy and decides
again, and the post-deploy stage that verified the release is still known, so the release succeeds (forgotten
before the write, the stage would start afresh after its window, fail, and roll back a good release)."""

from __future__ import annotations

from deployreq.api.phases import Phase
from deployreq.cluster import kube
from deployreq.decide.progress import run_id
from tests.engine.harness import GOOD, NAMESPACE, Bench, kinds, rolled_out, submit

POST_GATE = {"post": [{"name": "pods", "intervalSeconds": 1, "pods": {}}]}


async def test_a_refused_final_write_is_decided_again_with_the_gate_stage_kept(bench: Bench) -> None:
    await bench.until(lambda: rolled_out(bench))
    await submit(bench.client, "release", GOOD, verification={"durationSeconds": 1}, gates=POST_GATE)
    await bench.step()  # started and patched
    await bench.until(lambda: rolled_out(bench))
    bench.clock.advance(1)
    writes = await bench.step()  # rolled out: Verifying, and the post stage starts
    assert kinds(writes) == ["PATCH status"] and writes[0].status["phase"] == Phase.VERIFYING
    req = await bench.request("release")
    gates = bench.worker.ctx.gates
    assert gates is not None
    key = (req.uid, "post", run_id(req))
    stage = gates._runs[key]
    await bench.until(lambda: stage.outcome is not None, within=30)
    assert stage.outcome is not None and stage.outcome.passed
    bench.clock.advance(2)  # the verification window is over

    async def someone_writes() -> None:  # after the worker's cache was filled: it decides on a stale copy
        path = kube.request_path(NAMESPACE, "release")
        await bench.client.patch(path, {"metadata": {"labels": {"team": "shop"}}})

    writes = await bench.step(meanwhile=someone_writes)
    refused = writes[-1]
    assert refused.status["phase"] == Phase.SUCCEEDED  # sent, and refused by the API server
    assert refused.body["metadata"]["resourceVersion"] != (await bench.request("release")).resource_version
    assert (await bench.request("release")).phase == Phase.VERIFYING
    assert gates._runs.get(key) is stage  # not forgotten: the status that ends it was not written

    writes = await bench.step()
    assert kinds(writes) == ["PATCH status", "PATCH request", "PUT lease"]
    req = await bench.request("release")
    assert req.phase == Phase.SUCCEEDED
    assert req.status.message == "Rolled out and stayed healthy for 1s and its post-deploy gates passed."
    assert key not in gates._runs  # forgotten once Succeeded was written
