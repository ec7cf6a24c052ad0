"""Requests of several workloads (spec.workloads), pass by pass: patched in the listed order, each rolled out before
the next; on a failure every changed workload undone in reverse order (kubectl's undo of each kind), RolledBack once
all are back; an operator that restarts before every pass patches and undoes each workload exactly once."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from deployreq.api.phases import TERMINAL, Phase
from deployreq.cluster import kube
from deployreq.engine.gate_runs import new_pods_of
from tests.engine.harness import BAD, GOOD, NAMESPACE, Bench, Write, kinds

Obj = dict[str, Any]
OLD = "registry.example/web:1"
WORKLOAD_WRITES = ("PATCH deployment", "PATCH statefulset", "PATCH daemonset")


def workload(kind: str, name: str, **spec: Any) -> Obj:
    labels = {"app": name}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": OLD}]}}
    return {
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": labels}, "template": template, **spec},
    }


async def install_workloads(bench: Bench) -> None:
    base = f"/apis/apps/v1/namespaces/{NAMESPACE}"
    await bench.client.create(
        f"{base}/statefulsets", workload("StatefulSet", "db", replicas=2, serviceName="db")
    )
    await bench.client.create(f"{base}/daemonsets", workload("DaemonSet", "agent"))


async def release(bench: Bench, name: str, images: dict[str, str], **spec: Any) -> None:
    targets = [("Deployment", "web"), ("StatefulSet", "db"), ("DaemonSet", "agent")]
    body = {
        "apiVersion": "deployreq.dev/v1alpha1",
        "kind": "DeploymentRequest",
        "metadata": {"name": name},
        "spec": {
            "workloads": [
                {"kind": kind, "name": n, "images": [{"container": "app", "image": images[n]}]}
                for kind, n in targets
            ],
            **spec,
        },
    }
    await bench.client.create(kube.request_path(NAMESPACE), body)


async def image_of(bench: Bench, plural: str, name: str) -> str:
    obj = await bench.client.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/{plural}/{name}")
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


async def run_to_the_end(bench: Bench, name: str, restart: bool = False, within: float = 60) -> list[Write]:
    """Passes until the request ends (kubesim's controllers move on real time meanwhile); every write sent."""
    writes: list[Write] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if restart:
            await bench.restart()
        writes += await bench.step()
        if (await bench.request(name)).phase in TERMINAL:
            return writes
        bench.clock.advance(0.5)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} did not end within {within}s: {(await bench.request(name)).status}")


def workload_writes(writes: list[Write]) -> list[str]:
    return [k for k in kinds(writes) if k in WORKLOAD_WRITES]


async def test_a_release_of_three_kinds_rolls_out_in_order(bench: Bench) -> None:
    await install_workloads(bench)
    await release(bench, "r", {"web": GOOD, "db": GOOD, "agent": GOOD})
    writes = await run_to_the_end(bench, "r")
    req = await bench.request("r")
    assert req.phase == Phase.SUCCEEDED, req.status.message
    assert workload_writes(writes) == list(WORKLOAD_WRITES)
    assert req.status.target == "deployment/web,statefulset/db,daemonset/agent"
    entries = req.status.workloads or []
    assert [(e.kind.value, e.name) for e in entries] == [
        ("Deployment", "web"),
        ("StatefulSet", "db"),
        ("DaemonSet", "agent"),
    ]
    assert all(e.rolled_out_at and e.revision == 2 for e in entries), entries
    # each rolled out before the next was patched
    assert entries[0].rolled_out_at <= (entries[1].patched_at or "") and entries[1].rolled_out_at <= (
        entries[2].patched_at or ""
    )
    for plural, name in (("deployments", "web"), ("statefulsets", "db"), ("daemonsets", "agent")):
        assert await image_of(bench, plural, name) == GOOD
    # what a pods gate of the release judges: each workload's pods of its new template
    await bench.sync()
    cache = bench.worker.ctx.cache
    for kind, name, count in (("Deployment", "web", 2), ("StatefulSet", "db", 2), ("DaemonSet", "agent", 3)):
        pods = new_pods_of(cache, NAMESPACE, kind, name)
        assert [p["spec"]["containers"][0]["image"] for p in pods] == [GOOD] * count, (kind, name)


async def test_a_crash_loop_in_the_third_undoes_all_three_in_reverse_order(bench: Bench) -> None:
    await install_workloads(bench)
    await release(bench, "bad", {"web": GOOD, "db": GOOD, "agent": BAD})
    writes = await run_to_the_end(bench, "bad")
    req = await bench.request("bad")
    assert req.phase == Phase.ROLLED_BACK, req.status.message
    assert workload_writes(writes) == [*WORKLOAD_WRITES, *reversed(WORKLOAD_WRITES)]
    assert "daemonset/agent" in (req.status.failure or "")
    for plural, name in (("deployments", "web"), ("statefulsets", "db"), ("daemonsets", "agent")):
        assert await image_of(bench, plural, name) == OLD
    for entry in req.status.workloads or []:
        assert (
            entry.rollback is not None and entry.rollback.target_revision == 1 and entry.rollback.available_at
        )
        assert (
            entry.revision == 3
        )  # the old revision, made current again under a new number (kubectl's history)


async def test_restarting_before_every_pass_patches_and_undoes_each_workload_once(bench: Bench) -> None:
    await install_workloads(bench)
    await release(bench, "bad", {"web": GOOD, "db": GOOD, "agent": BAD})
    writes = await run_to_the_end(bench, "bad", restart=True)
    assert (await bench.request("bad")).phase == Phase.ROLLED_BACK
    assert workload_writes(writes) == [*WORKLOAD_WRITES, *reversed(WORKLOAD_WRITES)]


async def test_a_workload_changed_by_someone_else_is_left_alone_and_named(bench: Bench) -> None:
    await install_workloads(bench)
    await release(bench, "bad", {"web": GOOD, "db": GOOD, "agent": BAD})
    writes: list[Write] = []
    while "PATCH daemonset" not in kinds(writes):
        writes += await bench.step()
        bench.clock.advance(0.5)
        await asyncio.sleep(0.05)
    # someone else changes the StatefulSet while the DaemonSet rolls out
    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "registry.example/web:9"}]}}}
    }
    await bench.client.patch(f"/apis/apps/v1/namespaces/{NAMESPACE}/statefulsets/db", patch)
    writes += await run_to_the_end(bench, "bad")
    req = await bench.request("bad")
    assert req.phase == Phase.FAILED and req.status.reason == "ChangedElsewhere", req.status.message
    assert "statefulset/db" in (req.status.message or "")
    assert await image_of(bench, "statefulsets", "db") == "registry.example/web:9"
    assert await image_of(bench, "daemonsets", "agent") == OLD
    assert await image_of(bench, "deployments", "web") == OLD
    assert workload_writes(writes) == [*WORKLOAD_WRITES, "PATCH daemonset", "PATCH deployment"]


class FirstRecords:
    """Matches, once per workload, the first status write recording its patch, and the first recording its undo."""

    def __init__(self) -> None:
        self.failed: set[tuple[str, str]] = set()

    def __call__(self, write: Write) -> bool:
        for entry in write.status.get("workloads") or []:
            for what, written in (
                ("patch", entry.get("patchedGeneration")),
                ("undo", (entry.get("rollback") or {}).get("patchedGeneration")),
            ):
                if written and (entry["name"], what) not in self.failed:
                    self.failed.add((entry["name"], what))
                    return True
        return False


async def test_a_stop_between_each_workload_write_and_its_record_never_writes_a_workload_twice(
    bench: Bench,
) -> None:
    await install_workloads(bench)
    await release(bench, "bad", {"web": GOOD, "db": GOOD, "agent": BAD})
    writes: list[Write] = []
    first = FirstRecords()
    deadline = time.monotonic() + 60
    while (await bench.request("bad")).phase not in TERMINAL and time.monotonic() < deadline:
        # the record of each workload's patch and undo is lost once, as if the process stopped right after the write
        bench.client.fail_next(first, ConnectionResetError("the process stopped"))
        writes += await bench.step()
        await bench.restart()
        bench.clock.advance(0.5)
        await asyncio.sleep(0.05)
    assert (await bench.request("bad")).phase == Phase.ROLLED_BACK
    assert len(first.failed) == 6  # every record was lost once
    assert workload_writes(writes) == [*WORKLOAD_WRITES, *reversed(WORKLOAD_WRITES)]
