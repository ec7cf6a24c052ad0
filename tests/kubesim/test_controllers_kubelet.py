"""The simulated kubelet: pod phases, readiness, crash loops and image pull failures."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim.controllers.kubelet import normalized_image
from tests.kubesim.controllers_support import Cluster, running_cluster

Obj = dict[str, Any]


def make_pod(c: Cluster, name: str, image: str) -> Obj:
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }
    return c.store.create(c.pods, "default", body)


def pod(c: Cluster, name: str) -> Obj:
    return c.store.get(c.pods, "default", name)


def container(c: Cluster, name: str) -> Obj:
    statuses = (pod(c, name).get("status") or {}).get("containerStatuses") or [{}]
    return statuses[0]  # type: ignore[no-any-return]


def conditions(c: Cluster, name: str) -> dict[str, str]:
    return {x["type"]: x["status"] for x in (pod(c, name).get("status") or {}).get("conditions") or []}


async def test_a_pod_is_scheduled_runs_and_turns_ready() -> None:
    async with running_cluster(pod_ready_seconds=0.2, image_pull_seconds=0.2) as c:
        make_pod(c, "p", "nginx:1")
        await c.wait_for(lambda: container(c, "p").get("state", {}).get("waiting"), what="ContainerCreating")
        assert container(c, "p")["state"]["waiting"]["reason"] == "ContainerCreating"
        assert pod(c, "p")["status"]["phase"] == "Pending"
        assert conditions(c, "p")["PodScheduled"] == "True"
        await c.wait_for(lambda: pod(c, "p")["status"]["phase"] == "Running", what="Running")
        assert conditions(c, "p")["Ready"] == "False"
        await c.wait_for(lambda: conditions(c, "p").get("Ready") == "True", what="Ready")
        status = pod(c, "p")["status"]
        assert {k: conditions(c, "p")[k] for k in ("Initialized", "ContainersReady", "PodScheduled")} == {
            "Initialized": "True",
            "ContainersReady": "True",
            "PodScheduled": "True",
        }
        assert status["podIP"] and status["hostIP"] and status["startTime"]
        assert status["qosClass"] == "BestEffort"
        assert pod(c, "p")["spec"]["nodeName"] == "kubesim-node"
        cs = container(c, "p")
        assert cs["ready"] is True and cs["started"] is True and cs["restartCount"] == 0
        assert "startedAt" in cs["state"]["running"]


def recorder(c: Cluster, name: str) -> list[Obj]:
    """Every distinct container state of pod ``name`` the store writes, in order."""
    seen: list[Obj] = []

    def record(rt: object, event: object) -> None:
        statuses = (c.store.peek(c.pods, "default", name) or {}).get("status", {}).get("containerStatuses")
        cs = (statuses or [{}])[0]
        (kind, detail), *_ = (cs.get("state") or {"none": {}}).items()
        entry = {
            "state": detail.get("reason", kind),
            "restarts": cs.get("restartCount"),
            "ready": cs.get("ready"),
            "last": ((cs.get("lastState") or {}).get("terminated") or {}).get("reason"),
            "message": detail.get("message", ""),
            "exit": detail.get("exitCode"),
        }
        if kind != "none" and (not seen or seen[-1] != entry):
            seen.append(entry)

    c.store.listeners.append(record)
    return seen


async def test_a_fail_image_crashes_once_then_crash_loops_with_the_kubelets_back_off() -> None:
    async with running_cluster(fail_images=["*:broken"], pod_ready_seconds=5, time_scale=0.01) as c:
        seen = recorder(c, "p")
        make_pod(c, "p", "shop/web:broken")
        await c.wait_for(lambda: container(c, "p").get("restartCount", 0) >= 3, within=5, what="restarts")
        states = [(s["state"], s["restarts"], s["last"]) for s in seen if s["state"] != "ContainerCreating"]
        assert states[:6] == [
            ("running", 0, None),
            ("Error", 0, None),  # the first exit: terminated, no back-off yet
            ("running", 1, "Error"),  # restarted at once
            ("CrashLoopBackOff", 1, "Error"),  # the second exit: back-off 10 s
            ("running", 2, "Error"),
            ("CrashLoopBackOff", 2, "Error"),  # 20 s
        ]
        assert next(s["exit"] for s in seen if s["state"] == "Error") == 1
        messages = [s["message"] for s in seen if s["state"] == "CrashLoopBackOff"]
        uid = pod(c, "p")["metadata"]["uid"]
        assert messages[:2] == [
            f"back-off {n}s restarting failed container=app pod=p_default({uid})" for n in (10, 20)
        ]
        assert not any(s["ready"] for s in seen)
        assert pod(c, "p")["status"]["phase"] == "Running"
        assert conditions(c, "p")["Ready"] == "False"


async def test_an_unpullable_image_never_runs() -> None:
    async with running_cluster(unpullable_images=["ghost/*"], time_scale=0.01) as c:
        seen = recorder(c, "p")
        make_pod(c, "p", "ghost/app:1")
        await c.wait_for(
            lambda: sum(s["state"] == "ImagePullBackOff" for s in seen) >= 2,
            within=5,
            what="a second back-off",
        )
        assert [s["state"] for s in seen][:5] == [
            "ContainerCreating",
            "ErrImagePull",
            "ImagePullBackOff",
            "ErrImagePull",  # retried after the back-off
            "ImagePullBackOff",
        ]
        message = container(c, "p")["state"]["waiting"]["message"]
        assert message == 'Back-off pulling image "ghost/app:1"'
        ref = "docker.io/ghost/app:1"
        assert seen[1]["message"] == (
            f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
            f'failed to resolve reference "{ref}": {ref}: not found'
        )
        assert container(c, "p")["image"] == "ghost/app:1" and container(c, "p")["imageID"] == ""
        assert pod(c, "p")["status"]["phase"] == "Pending"


async def test_a_pull_retried_after_the_registry_recovered_runs_the_pod() -> None:
    async with running_cluster(unpullable_images=["ghost/*"], time_scale=0.01) as c:
        seen = recorder(c, "p")
        make_pod(c, "p", "ghost/app:1")
        await c.wait_for(lambda: any(s["state"] == "ImagePullBackOff" for s in seen), what="ImagePullBackOff")
        c.settings.unpullable_images.clear()
        await c.wait_for(lambda: conditions(c, "p").get("Ready") == "True", within=5, what="Ready")
        assert [s["state"] for s in seen][:4] == [
            "ContainerCreating",
            "ErrImagePull",
            "ImagePullBackOff",
            "running",
        ]
        assert container(c, "p")["restartCount"] == 0 and pod(c, "p")["status"]["phase"] == "Running"


async def test_readiness_comes_after_the_pod_ready_delay_times_the_time_scale() -> None:
    async with running_cluster(pod_ready_seconds=30, image_pull_seconds=0, time_scale=0.01) as c:
        make_pod(c, "p", "nginx:1")
        await c.wait_for(lambda: pod(c, "p")["status"]["phase"] == "Running", what="Running")
        running = c.store.clock()
        assert conditions(c, "p")["Ready"] == "False"
        await c.wait_for(lambda: conditions(c, "p").get("Ready") == "True", within=5, what="Ready")
        assert 0.25 <= c.store.clock() - running < 3  # 30 s times 0.01, not at once


async def test_settings_changed_at_runtime_apply_to_new_pods() -> None:
    async with running_cluster() as c:
        make_pod(c, "before", "shop/web:2")
        await c.wait_for(lambda: conditions(c, "before").get("Ready") == "True", what="first pod ready")
        c.settings.fail_images.append("shop/*")
        make_pod(c, "after", "shop/web:2")
        await c.wait_for(
            lambda: container(c, "after").get("restartCount", 0) >= 1, within=5, what="crash loop"
        )  # the first exit (0.2 s) and the restart at the next sync (1 s)
        assert conditions(c, "before")["Ready"] == "True"


async def test_only_the_failing_container_of_a_pod_crash_loops() -> None:
    async with running_cluster(
        fail_images=["bad/*"], unpullable_images=["ghost/*"], pod_ready_seconds=5, time_scale=0.01
    ) as c:
        for name, image in (("crash", "bad/app:1"), ("nopull", "ghost/app:1")):
            body = {
                "metadata": {"name": name, "namespace": "default"},
                "spec": {
                    "containers": [
                        {"name": "main", "image": image},
                        {"name": "sidecar", "image": "busybox:1.36"},
                    ]
                },
            }
            c.store.create(c.pods, "default", body)

        def by_name(pod_name: str) -> dict[str, Obj]:
            statuses = (pod(c, pod_name).get("status") or {}).get("containerStatuses") or []
            return {st["name"]: st for st in statuses}

        await c.wait_for(
            lambda: (
                by_name("crash").get("main", {}).get("restartCount", 0) >= 2
                and by_name("crash")["sidecar"]["ready"]
            ),
            within=5,
            what="main crash-looping beside a ready sidecar",
        )
        crash = by_name("crash")
        assert crash["sidecar"]["restartCount"] == 0 and "running" in crash["sidecar"]["state"]
        assert pod(c, "crash")["status"]["phase"] == "Running"
        ready = next(x for x in pod(c, "crash")["status"]["conditions"] if x["type"] == "Ready")
        assert ready["status"] == "False"
        assert ready["message"] == "containers with unready status: [main]"
        await c.wait_for(
            lambda: by_name("nopull").get("sidecar", {}).get("ready"), within=5, what="sidecar ready"
        )
        nopull = by_name("nopull")
        assert nopull["main"]["state"]["waiting"]["reason"] in ("ErrImagePull", "ImagePullBackOff")
        assert pod(c, "nopull")["status"]["phase"] == "Pending"


async def test_a_pod_with_cpu_and_memory_limits_is_guaranteed() -> None:
    async with running_cluster(pod_ready_seconds=0, image_pull_seconds=0) as c:
        limits = {"cpu": "250m", "memory": "64Mi"}
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "g", "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "nginx:1", "resources": {"limits": limits}}]},
        }
        c.store.create(c.pods, "default", body)
        await c.wait_for(lambda: conditions(c, "g").get("Ready") == "True", what="Ready")
        status = pod(c, "g")["status"]
        assert status["qosClass"] == "Guaranteed"
        assert status["hostIPs"] == [{"ip": status["hostIP"]}]


@pytest.mark.parametrize(
    ("image", "reported"),
    [
        ("nginx", "docker.io/library/nginx:latest"),
        ("nginx:1.0", "docker.io/library/nginx:1.0"),
        ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
        ("quay.io/org/app", "quay.io/org/app:latest"),
        ("localhost:5000/app:2", "localhost:5000/app:2"),
        ("nginx@sha256:abc", "docker.io/library/nginx@sha256:abc"),
    ],
)
def test_running_containers_report_the_normalized_image(image: str, reported: str) -> None:
    assert normalized_image(image) == reported


async def test_a_running_container_shows_containerd_image_and_id() -> None:
    async with running_cluster(image_pull_seconds=0) as c:
        make_pod(c, "p", "nginx:1.0")
        await c.wait_for(lambda: conditions(c, "p").get("Ready") == "True", what="Ready")
        status = container(c, "p")
        assert status["image"] == "docker.io/library/nginx:1.0"
        assert status["imageID"].startswith("docker.io/library/nginx@sha256:")
        assert pod(c, "p")["spec"]["containers"][0]["image"] == "nginx:1.0"


async def test_a_failing_pod_that_never_restarts_ends_failed() -> None:
    async with running_cluster(fail_images=["*:broken"], time_scale=0.01) as c:
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "once", "namespace": "default"},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "app", "image": "job:broken"}]},
        }
        c.store.create(c.pods, "default", body)
        await c.wait_for(lambda: pod(c, "once")["status"].get("phase") == "Failed", within=5, what="Failed")
        cs = container(c, "once")
        assert cs["restartCount"] == 0 and cs["ready"] is False and cs["started"] is False
        assert cs["state"]["terminated"]["exitCode"] == 1 and cs["state"]["terminated"]["reason"] == "Error"
        assert cs["lastState"] == {}
        ready = next(x for x in pod(c, "once")["status"]["conditions"] if x["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "PodFailed") and "message" not in ready
        assert await c.quiet(0.3)  # a failed pod is left alone
