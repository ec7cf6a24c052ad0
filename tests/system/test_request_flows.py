"""The operator as a user sees it: real kubesim, real ``deployreq run``, real requests."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.system.harness import Namespace

pytestmark = pytest.mark.system
# A failed pull is retried by the kubelet (10 s, 20 s, ...); this module's operator allows 2 s of failing pulls.
OPERATOR_ARGS = ("--image-pull-grace", "2s")

GOOD = "registry.example/web:1.1"
CRASH = "registry.example/web:2.0-crashloop"
NOPULL = "registry.example/web:9.9-nopull"


def phase(obj: dict[str, Any]) -> str:
    return str((obj.get("status") or {}).get("phase"))


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)


def test_a_good_release_succeeds_and_only_its_image_changes(ns: Namespace) -> None:
    ns.deployment(images={"app": "registry.example/web:1.0", "sidecar": "registry.example/proxy:1"})
    ns.request("r1", {"app": GOOD})
    done = ns.wait_phase("r1")
    assert phase(done) == "Succeeded", done["status"]
    assert ns.images() == {"app": GOOD, "sidecar": "registry.example/proxy:1"}
    assert done["status"]["previousImages"] == [{"container": "app", "image": "registry.example/web:1.0"}]
    assert condition(done, "Complete")["status"] == "True"
    assert condition(done, "Succeeded")["status"] == "True"
    assert condition(done, "Complete")["observedGeneration"] == done["metadata"]["generation"]
    dep = ns.get_deployment()
    assert "deployreq" in dep["metadata"]["annotations"]["kubernetes.io/change-cause"]
    assert "r1" in dep["metadata"]["annotations"]["kubernetes.io/change-cause"]


def test_a_crash_looping_release_is_rolled_back_to_the_previous_revision(ns: Namespace) -> None:
    ns.deployment()
    before = ns.get_deployment()
    ns.request("bad", {"app": CRASH})
    done = ns.wait_phase("bad", timeout=60)
    assert phase(done) == "RolledBack", done["status"]
    assert ns.images() == {"app": "registry.example/web:1.0"}
    ns.wait_deployment_available()
    after = ns.get_deployment()
    # As `kubectl rollout undo` leaves it: revision 1's ReplicaSet is now revision 3.
    assert after["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert after["spec"]["template"]["spec"] == before["spec"]["template"]["spec"]
    assert "CrashLoopBackOff" in done["status"]["message"] or "restart" in done["status"]["message"].lower()
    assert condition(done, "Succeeded")["status"] == "False"
    assert condition(done, "Complete")["status"] == "True"


def test_an_unpullable_image_is_rolled_back_without_waiting_for_the_deadline(ns: Namespace) -> None:
    ns.deployment()
    ns.request("nopull", {"app": NOPULL}, rollout={"timeoutSeconds": 300})
    done = ns.wait_phase("nopull", timeout=45)
    assert phase(done) == "RolledBack", done["status"]
    assert "ImagePull" in done["status"]["message"] or "ErrImagePull" in done["status"]["message"]


def test_images_already_in_place_succeed_without_a_patch(ns: Namespace) -> None:
    ns.deployment()
    generation = ns.get_deployment()["metadata"]["generation"]
    ns.request("same", {"app": "registry.example/web:1.0"})
    done = ns.wait_phase("same")
    assert phase(done) == "Succeeded"
    assert "already in place" in done["status"]["message"]
    assert ns.get_deployment()["metadata"]["generation"] == generation


def test_missing_deployment_fails_with_nothing_changed(ns: Namespace) -> None:
    ns.request("nodep", {"app": GOOD}, deployment="absent", retry={"attempts": 0, "backoffSeconds": 1})
    done = ns.wait_phase("nodep")
    assert phase(done) == "Failed"
    assert 'Deployment "absent" not found' in done["status"]["message"]


def test_unknown_container_fails_and_names_the_containers_that_exist(ns: Namespace) -> None:
    ns.deployment()
    generation = ns.get_deployment()["metadata"]["generation"]
    ns.request("typo", {"ap": GOOD})
    done = ns.wait_phase("typo")
    assert phase(done) == "Failed"
    assert "ap" in done["status"]["message"] and "app" in done["status"]["message"]
    assert ns.get_deployment()["metadata"]["generation"] == generation
    assert ns.images() == {"app": "registry.example/web:1.0"}


def test_requests_run_one_at_a_time_in_priority_order(ns: Namespace) -> None:
    ns.deployment(images={"a": "img/a:1", "b": "img/b:1", "c": "img/c:1", "d": "img/d:1"})
    ns.request("busy", {"d": "img/d:2"}, verification={"durationSeconds": 2})
    ns.wait_phase("busy", "Deploying", "Verifying", timeout=30)
    # Distinct containers so none supersedes another; created low first, urgent last.
    ns.request("low", {"a": "img/a:2"}, priority="low")
    ns.request("normal", {"b": "img/b:2"}, priority="normal")
    ns.request("urgent", {"c": "img/c:2"}, priority="urgent")
    queued = ns.wait_request("low", lambda o: (o.get("status") or {}).get("queuePosition") == 3, 30)
    assert queued["status"]["phase"] == "Queued"
    results = {name: ns.wait_phase(name, timeout=90) for name in ("busy", "low", "normal", "urgent")}
    assert all(phase(r) == "Succeeded" for r in results.values()), {
        n: r["status"] for n, r in results.items()
    }
    windows = sorted((r["status"]["startedAt"], r["status"]["completedAt"], n) for n, r in results.items())
    assert [n for _, _, n in windows] == ["busy", "urgent", "normal", "low"]
    for (_, end, _), (start, _, _) in itertools.pairwise(windows):
        assert end <= start, windows


def test_a_newer_request_supersedes_a_queued_one(ns: Namespace) -> None:
    ns.deployment(images={"app": "img/app:1", "other": "img/other:1"})
    ns.request("busy", {"other": "img/other:2"}, verification={"durationSeconds": 3})
    ns.wait_phase("busy", "Verifying", "Deploying", timeout=30)
    ns.request("v2", {"app": "img/app:2"})
    ns.request("v3", {"app": "img/app:3"})
    assert phase(ns.wait_phase("v2", timeout=60)) == "Superseded"
    assert phase(ns.wait_phase("v3", timeout=60)) == "Succeeded"
    assert ns.images()["app"] == "img/app:3"


def test_reapplying_an_unchanged_request_starts_nothing_and_a_changed_spec_runs_again(ns: Namespace) -> None:
    ns.deployment()
    ns.request("r", {"app": GOOD})
    first = ns.wait_phase("r")
    assert phase(first) == "Succeeded"
    ns.patch("r", {"spec": {"images": [{"container": "app", "image": GOOD}]}})  # what a re-sync sends
    assert ns.get("r")["metadata"]["generation"] == first["metadata"]["generation"]
    ns.patch("r", {"spec": {"images": [{"container": "app", "image": "registry.example/web:1.2"}]}})
    second = ns.wait_request(
        "r",
        lambda o: (
            phase(o) == "Succeeded" and o["status"]["observedGeneration"] == o["metadata"]["generation"]
        ),
        60,
    )
    assert second["status"]["observedGeneration"] == 2
    assert ns.images() == {"app": "registry.example/web:1.2"}


def test_a_rolled_back_request_stays_ended_until_rerun(ns: Namespace) -> None:
    ns.deployment()
    ns.request("bad", {"app": CRASH})
    assert phase(ns.wait_phase("bad", timeout=60)) == "RolledBack"
    ns.patch("bad", {"metadata": {"annotations": {"deployreq.dev/rerun": "1"}}})
    again = ns.wait_request(
        "bad", lambda o: phase(o) == "RolledBack" and o["status"].get("observedRerun") == "1", 60
    )
    assert again["status"]["attempt"] == 1


def test_deleting_a_queued_request_removes_it(ns: Namespace) -> None:
    ns.deployment(images={"app": "img/app:1", "other": "img/other:1"})
    ns.request("busy", {"other": "img/other:2"}, verification={"durationSeconds": 3})
    ns.wait_phase("busy", "Verifying", "Deploying", timeout=30)
    ns.request("waiting", {"app": "img/app:2"})
    ns.wait_phase("waiting", "Queued", timeout=30)
    ns.delete("waiting")
    ns.wait_gone("waiting", timeout=15)
    assert phase(ns.wait_phase("busy", timeout=60)) == "Succeeded"
    assert ns.images()["app"] == "img/app:1"


def test_deleting_a_request_while_verifying_rolls_it_back(ns: Namespace) -> None:
    ns.deployment()
    ns.request("r", {"app": GOOD}, verification={"durationSeconds": 60})
    ns.wait_phase("r", "Verifying", timeout=30)
    assert ns.images() == {"app": GOOD}
    ns.delete("r")
    ns.wait_gone("r", timeout=45)
    assert ns.images() == {"app": "registry.example/web:1.0"}


def test_two_namespaces_progress_in_parallel(ns: Namespace, ns2: Namespace) -> None:
    for space in (ns, ns2):
        space.deployment()
        space.request("long", {"app": GOOD}, verification={"durationSeconds": 4})
    first = ns.wait_phase("long", "Verifying", timeout=30)
    second = ns2.wait_phase("long", "Verifying", timeout=30)
    assert first["status"]["phase"] == second["status"]["phase"] == "Verifying"
    assert phase(ns.wait_phase("long", timeout=30)) == "Succeeded"
    assert phase(ns2.wait_phase("long", timeout=30)) == "Succeeded"
