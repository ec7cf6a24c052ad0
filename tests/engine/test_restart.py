"""A restart in the middle of a run: the operator stops right after its image patch, before recording it. The new
process, with an empty memory and the same identity (a pod keeps its name), keeps the lock, recognises the patch by
the run's annotation and records it (Adopt) instead of patching again, then finishes the run."""

from __future__ import annotations

from deployreq.api.phases import Phase
from tests.engine.harness import GOOD, Bench, Write, kinds, rolled_out, submit


def records_the_patch(write: Write) -> bool:
    return "patchedGeneration" in write.status


async def test_a_patch_sent_before_a_restart_is_adopted_not_repeated(bench: Bench) -> None:
    await bench.until(lambda: rolled_out(bench))
    await submit(bench.client, "release", GOOD)
    bench.client.fail_next(records_the_patch, ConnectionResetError("the process stopped"))
    writes = await bench.step()
    assert kinds(writes) == ["POST lease", "PATCH request", "PATCH status", "PATCH deployment"]
    patched = (await bench.deployment())["metadata"]["generation"]
    assert (await bench.request("release")).status.patched_generation is None  # the record never went out

    await bench.restart()
    bench.clock.advance(1)
    writes = await bench.step()
    assert "PATCH deployment" not in kinds(writes)
    adopted = writes[kinds(writes).index("PATCH status")].status
    assert adopted["patchedGeneration"] == patched
    assert adopted["message"] == "Found this run's patch already applied; waiting for the rollout."
    assert (await bench.deployment())["metadata"]["generation"] == patched

    await bench.until(lambda: rolled_out(bench))
    bench.clock.advance(1)
    await bench.step()
    req = await bench.request("release")
    assert req.phase == Phase.SUCCEEDED
    assert req.status.attempt == 1
