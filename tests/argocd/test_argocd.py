"""Argo CD syncs DeploymentRequests from git while the operator runs them, on the real control plane (issue 23).

Each scenario commits to a git repository on disk that an Application (``manifests/argocd/application.yaml``:
automated sync, prune, self-heal, the ignoreDifferences docs/gitops.md prescribes) follows, and watches what Argo CD
and the operator do. Argo CD polls git every few minutes; a user's webhook makes it look at once, and here the
``argocd.argoproj.io/refresh`` annotation (what ``argocd app get --refresh`` sets) does the same.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from kubernetes import watch

from tests.argocd.conftest import SLOW, Site
from tests.argocd.gitops import TRACKING, deployment, health, request, resource, summary, synced_to
from tests.support import run_kubectl
from tests.system.harness import GROUP, PLURAL, TERMINAL, VERSION

WEB = "registry.example/web"
ACTIVE = {"Checking", "Deploying", "Verifying", "RollingBack"}
WAIT = 90 * SLOW


def tag(new_tag: str, new_name: str | None = None) -> list[dict[str, str]]:
    entry = {"name": WEB, "newTag": new_tag}
    if new_name:
        entry["newName"] = new_name
    return [entry]


def release(verification: int = 0) -> list[dict[str, Any]]:
    spec: dict[str, Any] = {"verification": {"durationSeconds": verification}} if verification else {}
    return [deployment({"web": f"{WEB}:1.0"}), request("web-release", {"web": f"{WEB}:1.0"}, **spec)]


def start(site: Site, resources: list[dict[str, Any]], images: list[dict[str, str]] | None) -> str:
    """The first commit, the Application, and the wait until it is synced to it and Healthy."""
    sha = site.repo.commit("first", resources, images)
    site.create_application()
    site.app.watch(
        lambda a: synced_to(a, sha) and health(a) == "Healthy", WAIT, "synced to the first commit, Healthy"
    )
    return sha


def refreshed(site: Site) -> dict[str, Any]:
    """Ask Argo CD to compare with git and the cluster now; the Application once it has done so."""
    asked = datetime.now(UTC).replace(microsecond=0)

    def done(app: dict[str, Any]) -> bool:
        annotations = app["metadata"].get("annotations") or {}
        reconciled = (app.get("status") or {}).get("reconciledAt")
        return (
            "argocd.argoproj.io/refresh" not in annotations
            and reconciled is not None
            and datetime.fromisoformat(reconciled) >= asked
        )

    # Asked again when unanswered for a while (seen once in about ten runs: a refresh asked while the controller
    # persisted an earlier comparison was never answered); what counts here is that Argo CD compared again.
    deadline = time.monotonic() + WAIT
    while True:
        site.app.refresh()
        try:
            return site.app.watch(done, min(15 * SLOW, deadline - time.monotonic()), "refreshed")
        except AssertionError:
            if time.monotonic() + 1 > deadline:
                raise


def image_writers(dep: dict[str, Any], container: str) -> set[str]:
    """The field managers owning the container's image (managedFields): whoever last set it."""
    key = f'k:{{"name":"{container}"}}'
    owners = set()
    for entry in dep["metadata"].get("managedFields") or []:
        fields = entry.get("fieldsV1") or {}
        containers = fields.get("f:spec", {}).get("f:template", {}).get("f:spec", {}).get("f:containers", {})
        if "f:image" in containers.get(key, {}):
            owners.add(entry["manager"])
    return owners


def later_writers(dep: dict[str, Any]) -> dict[str, str]:
    """Field managers other than the operator and the Deployment controller that wrote the Deployment after it
    was created (managedFields times): Argo CD should have created it and left it alone since."""
    created = dep["metadata"]["creationTimestamp"]
    return {
        entry["manager"]: entry["time"]
        for entry in dep["metadata"].get("managedFields") or []
        if entry["manager"] not in ("deployreq", "kube-controller-manager")
        and entry.get("time", created) > created
    }


def argocd_user(site: Site) -> str:
    """The user Argo CD's controller applies as here (the stack runs it with the cluster's kubeconfig)."""
    result = run_kubectl(
        site.stack.kubeconfig, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"
    )
    assert result.returncode == 0 and result.stdout.strip(), result.stderr
    return result.stdout.strip()


def operation_started(app: dict[str, Any]) -> str | None:
    return ((app.get("status") or {}).get("operationState") or {}).get("startedAt")


def test_a_new_tag_in_git_runs_the_request_and_the_application_is_healthy_only_when_it_succeeded(
    site: Site,
) -> None:
    start(site, release(verification=4), tag("1.0"))
    assert site.ns.get("web-release")["status"]["phase"] == "Succeeded"

    sha = site.repo.commit("web 1.1", release(verification=4), tag("1.1"))
    site.app.refresh()
    seen: list[tuple[str | None, str | None]] = []

    def healthy_on_the_new_commit(app: dict[str, Any]) -> bool:
        if not synced_to(app, sha):
            return False
        seen.append(
            (
                health(app),
                (resource(app, "DeploymentRequest", "web-release").get("health") or {}).get("status"),
            )
        )
        return health(app) == "Healthy"

    site.app.watch(healthy_on_the_new_commit, WAIT, "Healthy on the new commit")
    req = site.ns.get("web-release")
    assert req["status"]["phase"] == "Succeeded", req["status"]
    assert req["status"]["observedGeneration"] == req["metadata"]["generation"] == 2
    assert ("Progressing", "Progressing") in seen, seen  # while the operator ran it
    assert all(app_health != "Healthy" for app_health, _ in seen[:-1]), seen
    assert site.ns.images() == {"web": f"{WEB}:1.1"}
    # The operator set the tag (its patch), not Argo CD (git's Deployment names 1.1 too, but that field is ignored)
    assert image_writers(site.ns.get_deployment(), "web") == {"deployreq"}
    assert later_writers(site.ns.get_deployment()) == {}


def test_a_crash_looping_tag_is_rolled_back_degraded_and_not_undone_by_self_heal(site: Site) -> None:
    start(site, release(), tag("1.0"))
    sha = site.repo.commit("web crash-looping", release(), tag("2.0", f"{WEB}-crashloop"))
    site.app.refresh()
    degraded = site.app.watch(
        lambda a: synced_to(a, sha) and health(a) == "Degraded", WAIT, "Degraded on the crash-looping commit"
    )
    req = site.ns.get("web-release")
    assert req["status"]["phase"] == "RolledBack", req["status"]
    shown = resource(degraded, "DeploymentRequest", "web-release")["health"]
    assert shown == {"status": "Degraded", "message": req["status"]["message"]}
    assert site.ns.images() == {"web": f"{WEB}:1.0"}  # the operator's undo
    assert image_writers(site.ns.get_deployment(), "web") == {"deployreq"}
    assert later_writers(site.ns.get_deployment()) == {}

    before = site.ns.get_deployment()
    for _ in range(2):  # two full comparisons after the undo: self-heal would act on either
        app = refreshed(site)
        assert synced_to(app, sha) and health(app) == "Degraded", summary(app)
    after = site.ns.get_deployment()
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert site.ns.images() == {"web": f"{WEB}:1.0"}
    assert after["metadata"]["annotations"].get(TRACKING), after["metadata"]["annotations"]
    now = site.ns.get("web-release")
    assert now["status"] == req["status"]
    assert now["metadata"].get("finalizers") == req["metadata"].get("finalizers")
    assert now["metadata"]["annotations"].get(TRACKING) == req["metadata"]["annotations"][TRACKING]


def watch_requests(site: Site, names: set[str], timeout: float) -> tuple[dict[str, dict[str, Any]], int]:
    """Watch the namespace's requests until every one of ``names`` has ended; their last state, and the most that
    were active at once."""
    custom, ns = site.ns.custom, site.ns.name
    latest: dict[str, dict[str, Any]] = {}
    most = 0
    deadline = time.monotonic() + timeout
    stream = watch.Watch()
    for event in stream.stream(
        custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL, timeout_seconds=int(timeout)
    ):
        obj = event["object"]
        latest[obj["metadata"]["name"]] = obj
        phases = {n: (o.get("status") or {}).get("phase") for n, o in latest.items()}
        most = max(most, sum(1 for p in phases.values() if p in ACTIVE))
        if all(phases.get(n) in TERMINAL for n in names) or time.monotonic() > deadline:
            stream.stop()
    return latest, most


def test_several_requests_in_one_commit_queue_and_a_request_deleted_from_git_is_pruned(site: Site) -> None:
    containers = {"web": f"{WEB}:1.0", "proxy": "registry.example/proxy:2.0"}
    start(site, [deployment(containers)], None)
    requests = [
        request("a-web", {"web": f"{WEB}:1.1"}),
        request("b-proxy", {"proxy": "registry.example/proxy:2.1"}),
        request("c-web", {"web": f"{WEB}:1.2"}),
    ]
    sha = site.repo.commit("three requests", [deployment(containers), *requests], None)
    site.app.refresh()
    latest, most = watch_requests(site, {"a-web", "b-proxy", "c-web"}, WAIT)
    phases = {n: o["status"]["phase"] for n, o in latest.items()}
    assert most == 1, phases  # one at a time for one Deployment
    assert phases["b-proxy"] == phases["c-web"] == "Succeeded", phases
    # a-web ran before c-web existed, or c-web (newer, same container) superseded it while it waited
    assert phases["a-web"] in ("Succeeded", "Superseded"), phases
    assert site.ns.images() == {"web": f"{WEB}:1.2", "proxy": "registry.example/proxy:2.1"}
    site.app.watch(
        lambda a: synced_to(a, sha) and health(a) == "Healthy", WAIT, "Healthy with three requests"
    )

    # A finished request deleted from git: pruned, nothing undone.
    remaining = [r for r in requests if r["metadata"]["name"] != "b-proxy"]
    sha = site.repo.commit("b-proxy done", [deployment(containers), *remaining], None)
    site.app.refresh()
    site.ns.wait_gone("b-proxy", timeout=WAIT)
    site.app.watch(lambda a: synced_to(a, sha) and health(a) == "Healthy", WAIT, "synced without b-proxy")
    assert site.ns.images()["proxy"] == "registry.example/proxy:2.1"

    # An active request deleted from git: its finalizer holds it until the operator has undone its change.
    slow = request("d-web", {"web": f"{WEB}:1.3"}, verification={"durationSeconds": 300})
    site.repo.commit("d-web", [deployment(containers), *remaining, slow], None)
    site.app.refresh()
    verifying = site.ns.wait_phase("d-web", "Verifying", timeout=WAIT)
    assert "deployreq.dev/rollback-on-delete" in verifying["metadata"]["finalizers"]
    assert site.ns.images()["web"] == f"{WEB}:1.3"
    sha = site.repo.commit("d-web withdrawn", [deployment(containers), *remaining], None)
    site.app.refresh()
    site.ns.wait_gone("d-web", timeout=WAIT)
    assert site.ns.images()["web"] == f"{WEB}:1.2"  # undone before the finalizer let it go
    site.app.watch(lambda a: synced_to(a, sha) and health(a) == "Healthy", WAIT, "synced without d-web")
    assert later_writers(site.ns.get_deployment()) == {}


def test_the_application_stays_synced_after_the_operator_wrote_everything(site: Site) -> None:
    start(site, release(), tag("1.0"))
    sha = site.repo.commit("web 1.1", release(), tag("1.1"))
    site.app.refresh()
    settled = site.app.watch(
        lambda a: synced_to(a, sha) and health(a) == "Healthy", WAIT, "Healthy on the new commit"
    )
    request = site.ns.get("web-release")
    assert request["status"]["phase"] == "Succeeded"
    # the server recorded Argo CD as who asked for it (an annotation not in git, which leaves the Application Synced)
    assert request["metadata"]["annotations"]["deployreq.dev/requested-by"] == argocd_user(site)
    started = operation_started(settled)
    history = len((settled.get("status") or {}).get("history") or [])
    objects = (site.ns.get_deployment(), site.ns.get("web-release"))
    for _ in range(3):  # three comparisons after the operator's last write: no sync, no write
        app = refreshed(site)
        assert synced_to(app, sha) and health(app) == "Healthy", summary(app)
        assert operation_started(app) == started, summary(app)
        assert len((app.get("status") or {}).get("history") or []) == history
    now = (site.ns.get_deployment(), site.ns.get("web-release"))
    for old, new in zip(objects, now, strict=True):
        assert new["metadata"]["resourceVersion"] == old["metadata"]["resourceVersion"], new["kind"]
