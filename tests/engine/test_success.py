"""A request that succeeds, pass by pass: each phase it shows and each write the worker sends."""

from __future__ import annotations

from deployreq.api.names import FINALIZER, RUN_ANNOTATION
from deployreq.api.phases import Phase
from deployreq.decide.progress import run_id
from tests.engine.harness import GOOD, Bench, kinds, rolled_out, submit


async def test_a_request_starts_patches_and_succeeds_with_each_write_in_order(bench: Bench) -> None:
    await bench.until(lambda: rolled_out(bench))
    await submit(bench.client, "release", GOOD)

    # Pass 1: the lock taken, the finalizer set, the run started (Deploying at once: no pre-gates) with what the
    # patch records, then the patch and its record; the rollout is not complete yet, so the pass ends waiting.
    writes = await bench.step()
    assert kinds(writes) == [
        "POST lease",
        "PATCH request",
        "PATCH status",
        "PATCH deployment",
        "PATCH status",
    ]
    start = writes[2].status
    assert start["phase"] == Phase.DEPLOYING
    assert start["attempt"] == 1
    assert start["previousImages"] == [{"container": "app", "image": "registry.example/web:1"}]
    assert start["images"] == [{"container": "app", "image": GOOD}]
    assert start["lockHolder"] == f"release@{bench.identity}"
    assert writes[1].body[1]["value"] == [FINALIZER]
    req = await bench.request("release")
    dep = await bench.deployment()
    assert dep["metadata"]["annotations"][RUN_ANNOTATION] == run_id(req)
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == GOOD
    assert writes[3].body["metadata"]["resourceVersion"]  # fenced by the Deployment as judged
    assert writes[4].status["patchedGeneration"] == dep["metadata"]["generation"]
    assert (
        req.phase == Phase.DEPLOYING and req.status.message == "Patched the images; waiting for the rollout."
    )

    # Nothing changed in the cluster yet (the pass saw its own writes): a pass writes nothing.
    await bench.until(lambda: rolled_out(bench))
    bench.clock.advance(1)

    # Pass 2: the rollout is complete: Succeeded with the revision it created, the finalizer removed, the lock
    # released (nobody else waits).
    writes = await bench.step()
    assert kinds(writes) == ["PATCH status", "PATCH request", "PUT lease"]
    done = writes[0].status
    assert done["phase"] == Phase.SUCCEEDED
    assert done["revision"] == 2
    assert done["message"] == "Rolled out and available."
    req = await bench.request("release")
    assert req.phase == Phase.SUCCEEDED and not req.has_finalizer
    assert [h.phase for h in req.status.history or []] == [Phase.DEPLOYING, Phase.SUCCEEDED]
    conditions = {c.type: c.status for c in req.status.conditions or []}
    assert conditions["Ready"] == "True" and conditions["Reconciling"] == "False"

    # Pass 3: nothing left to do, nothing written.
    assert await bench.step() == []
    assert (await bench.request("release")).status.observed_generation == 1
