"""Approvals that cannot be forged (issue 19), on kubesim and on the real control plane: a DeploymentRequest a
DeployPolicy holds waits AwaitingApproval (without the namespace lock), `deployreq approve` as a user with the
deployreq-approver role starts it and its status names the approver as the API server authenticated them, `deployreq
reject` ends it Cancelled; a user with only the requester role cannot approve at all, and an approver cannot approve
in someone else's name (the ValidatingAdmissionPolicy of manifests/base refuses it with its message). Who asked for
a request is recorded by the MutatingAdmissionPolicy of manifests/base as the server authenticated them, whatever
they wrote, and their own approval does not count: a second approver must approve.

The people are ServiceAccounts of the test's namespace with tokens from the TokenRequest API, so the API server
authenticates them as it would any user, and RBAC and admission judge them as such.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.kubectl import require_kubectl
from tests.system.cluster import Cluster, wait_until_served
from tests.system.harness import GROUP, VERSION, Namespace, run_kubectl, wait_for
from tests.system.test_metrics import _free_port, scrape_port

pytestmark = pytest.mark.system
ROOT = Path(__file__).resolve().parents[2]
INSTALLED = [
    ROOT / "manifests" / "base" / "approval-policy.yaml",
    ROOT / "manifests" / "components" / "requested-by" / "requested-by-policy.yaml",
    ROOT / "manifests" / "base" / "user-roles.yaml",
]
PORT = _free_port()
OPERATOR_ARGS = ("--metrics-port", str(PORT))
HELD = 'deployreq_held_requests{reason="approval"}'
DENIED = "ValidatingAdmissionPolicy 'deployreq-approvals' with binding 'deployreq-approvals' denied request"


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def admission(cluster: Cluster) -> Iterator[None]:
    """The approval policy and the people's roles, as the operator's install applies them."""
    require_kubectl()
    files = [arg for path in INSTALLED for arg in ("-f", str(path))]
    ok(run_kubectl(cluster.kubeconfig, "apply", *files))
    wait_until_served(cluster.kubeconfig)  # the policies' matchers know the kinds
    yield
    if cluster.real:
        run_kubectl(cluster.kubeconfig, "delete", "--ignore-not-found", *files)


class Person:
    """A ServiceAccount of the namespace bound to one role, with a kubeconfig of its own token."""

    def __init__(self, cluster: Cluster, ns: Namespace, name: str, role: str) -> None:
        self.username = f"system:serviceaccount:{ns.name}:{name}"
        kc = cluster.kubeconfig
        ok(run_kubectl(kc, "create", "serviceaccount", name, "-n", ns.name))
        binding = f"--serviceaccount={ns.name}:{name}"
        ok(run_kubectl(kc, "create", "rolebinding", name, f"--clusterrole={role}", binding, "-n", ns.name))
        token = ok(run_kubectl(kc, "create", "token", name, "-n", ns.name)).strip()
        config = yaml.safe_load(kc.read_text())
        config["users"] = [{"name": name, "user": {"token": token}}]
        for context in config["contexts"]:
            context["context"]["user"] = name
        self.kubeconfig = cluster.workdir / f"kubeconfig-{ns.name}-{name}"
        self.kubeconfig.write_text(yaml.safe_dump(config))

    def deployreq(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        return subprocess.run(
            [sys.executable, "-m", "deployreq", *args],
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
            check=False,
        )

    def kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_kubectl(self.kubeconfig, *args, input=input)


def approval_doc(ns: Namespace, request: dict[str, Any], approver: str) -> str:
    meta = request["metadata"]
    return yaml.safe_dump(
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "DeployApproval",
            "metadata": {"name": f"forged-{uuid.uuid4().hex[:6]}", "namespace": ns.name},
            "spec": {
                "request": meta["name"],
                "requestUID": meta["uid"],
                "requestGeneration": meta["generation"],
                "decision": "Approve",
                "approver": approver,
            },
        }
    )


def approvals(ns: Namespace) -> list[dict[str, Any]]:
    listing = ns.custom.list_namespaced_custom_object(GROUP, VERSION, ns.name, "deployapprovals")
    assert isinstance(listing, dict)
    return list(listing["items"])


def test_a_requester_cannot_approve_at_all(cluster: Cluster, ns: Namespace, admission: None) -> None:
    requester = Person(cluster, ns, "requester", "deployreq-requester")
    # No Deployment yet: the request waits for its retry, so there is something to approve.
    waits = _request_doc("web-2", retry={"attempts": 5, "backoffSeconds": 600})
    ok(
        requester.kubectl("create", "-n", ns.name, "-f", "-", input=yaml.safe_dump(waits))
    )  # may ask for a deploy
    # ... but not approve one, not even someone else's (their own is refused before that: see below)
    someone_elses = _request_doc("web-3", retry={"attempts": 5, "backoffSeconds": 600})
    ok(
        run_kubectl(
            cluster.kubeconfig, "create", "-n", ns.name, "-f", "-", input=yaml.safe_dump(someone_elses)
        )
    )
    result = requester.deployreq("approve", "web-3", "-n", ns.name)
    assert result.returncode != 0
    assert 'cannot create resource "deployapprovals"' in result.stderr, (
        result.stderr
    )  # ... but not approve it
    forged = requester.kubectl(
        "create", "-f", "-", input=approval_doc(ns, ns.get("web-2"), requester.username)
    )
    assert forged.returncode != 0 and "forbidden" in forged.stderr, forged.stderr
    assert approvals(ns) == []


def test_an_approver_cannot_approve_in_someone_elses_name(
    cluster: Cluster, ns: Namespace, admission: None
) -> None:
    approver = Person(cluster, ns, "approver", "deployreq-approver")
    ns.deployment()
    request = ns.request("web-2", {"app": "registry.example/web:2.0"})
    forged = approver.kubectl("create", "-f", "-", input=approval_doc(ns, request, "alice"))
    assert forged.returncode != 0
    expected = f"spec.approver must be the user creating the approval ({approver.username}), not alice"
    assert DENIED in forged.stderr and expected in forged.stderr, forged.stderr
    assert approvals(ns) == []
    mine = approver.kubectl("create", "-f", "-", input=approval_doc(ns, request, approver.username))
    ok(mine)
    [stored] = approvals(ns)
    changed = run_kubectl(  # not even the admin may turn an approval into another one
        cluster.kubeconfig,
        "patch",
        "deployapproval",
        stored["metadata"]["name"],
        "-n",
        ns.name,
        "--type=merge",
        "-p",
        '{"spec": {"approver": "alice"}}',
    )
    assert changed.returncode != 0 and "an approval's spec cannot change" in changed.stderr, changed.stderr


def _request_doc(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "DeploymentRequest",
        "metadata": {"name": name},
        "spec": {
            "deployment": "web",
            "images": [{"container": "app", "image": "registry.example/web:2.0"}],
            **spec,
        },
    }


@pytest.fixture
def policy(cluster: Cluster, ns: Namespace, admission: None) -> Iterator[str]:
    """A DeployPolicy holding this namespace's normal requests for an approval (high ones pass)."""
    name = f"approve-{ns.name}"
    doc = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "DeployPolicy",
        "metadata": {"name": name},
        "spec": {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns.name}},
            "approval": {"required": True, "priorities": ["normal"]},
        },
    }
    ok(run_kubectl(cluster.kubeconfig, "create", "-f", "-", input=yaml.safe_dump(doc)))
    yield name
    run_kubectl(cluster.kubeconfig, "delete", "deploypolicy", name, "--ignore-not-found")


def _held(ns: Namespace, name: str, policy: str) -> dict[str, Any]:
    held = ns.wait_phase(name, "AwaitingApproval")
    assert held["status"]["message"] == (
        f"Waiting for an approval: policy {policy} requires one for normal requests "
        f"(deployreq approve {name} -n {ns.name}, or deployreq reject)."
    )
    conditions = {c["type"]: c["status"] for c in held["status"]["conditions"]}
    assert (conditions["AwaitingApproval"], conditions["Complete"]) == ("True", "False")
    return held


def test_a_held_request_waits_without_the_lock_and_runs_once_approved(
    cluster: Cluster, ns: Namespace, policy: str
) -> None:
    approver = Person(cluster, ns, "approver", "deployreq-approver")
    ns.deployment()
    ns.deployment("api")
    ns.request("web-2", {"app": "registry.example/web:2.0"})
    _held(ns, "web-2", policy)
    # It holds no lock: a request the policy does not hold runs meanwhile in the same namespace.
    ns.request("api-2", {"app": "registry.example/api:2.0"}, deployment="api", priority="high")
    assert ns.wait_phase("api-2")["status"]["phase"] == "Succeeded"
    table = ok(run_kubectl(cluster.kubeconfig, "get", "deploymentrequests", "-n", ns.name)).splitlines()
    assert "AwaitingApproval" in next(line for line in table if line.startswith("web-2 "))
    assert ns.images("web") == {"app": "registry.example/web:1.0"}
    wait_for(lambda: scrape_port(PORT), lambda v: v.get(HELD) == 1, 10, "the hold counted")
    said = ok(approver.deployreq("approve", "web-2", "-n", ns.name, "--comment", "notes checked"))
    assert f"deploymentrequest web-2 approved by {approver.username}" in said
    done = ns.wait_phase("web-2")
    assert done["status"]["phase"] == "Succeeded", done["status"]
    [made] = approvals(ns)
    recorded = done["status"]["approval"]
    assert recorded == {
        "decision": "Approve",
        "approver": approver.username,
        "approval": made["metadata"]["name"],
        "policy": policy,
        "comment": "notes checked",
        "decidedAt": made["metadata"]["creationTimestamp"],
    }
    conditions = {c["type"]: c["status"] for c in done["status"]["conditions"]}
    assert conditions["AwaitingApproval"] == "False"
    assert ns.images("web") == {"app": "registry.example/web:2.0"}
    assert scrape_port(PORT)[HELD] == 0


def test_a_rejected_request_ends_cancelled_naming_who_rejected_it(
    cluster: Cluster, ns: Namespace, policy: str
) -> None:
    approver = Person(cluster, ns, "approver", "deployreq-approver")
    ns.deployment()
    ns.request("web-2", {"app": "registry.example/web:2.0"})
    _held(ns, "web-2", policy)
    ok(approver.deployreq("reject", "web-2", "-n", ns.name, "--reason", "not during the sale"))
    done = ns.wait_phase("web-2")
    [made] = approvals(ns)
    assert (done["status"]["phase"], done["status"]["reason"]) == ("Cancelled", "Rejected")
    assert done["status"]["message"] == (
        f"Rejected by {approver.username} (DeployApproval {made['metadata']['name']}): not during the sale"
    )
    assert ns.images("web") == {"app": "registry.example/web:1.0"}
    again = approver.deployreq("approve", "web-2", "-n", ns.name)
    assert again.returncode != 0 and "has ended (Cancelled): nothing to decide" in again.stderr


REQUESTED_BY = "deployreq.dev/requested-by"


def _requested_by(ns: Namespace, name: str) -> str | None:
    return (ns.get(name)["metadata"].get("annotations") or {}).get(REQUESTED_BY)


def _policy_in_force(person: Person, ns: Namespace) -> None:
    """The real server applies a new policy within a second (kubesim at once): a dry run shows when it does."""

    def dry_run() -> str | None:
        made = person.kubectl(
            "create",
            "--dry-run=server",
            "-o",
            "json",
            "-n",
            ns.name,
            "-f",
            "-",
            input=_claiming(ns, "probe", "alice"),
        )
        return (
            None
            if made.returncode
            else (json.loads(made.stdout)["metadata"].get("annotations") or {}).get(REQUESTED_BY)
        )

    wait_for(dry_run, lambda who: who == person.username, 10, "the requested-by policy in force")


def _claiming(ns: Namespace, name: str, claimed: str) -> str:
    """A request whose author claims someone else asked for it."""
    doc = _request_doc(name, images=[{"container": "app", "image": "registry.example/web:2.0"}])
    doc["metadata"]["annotations"] = {REQUESTED_BY: claimed}
    return yaml.safe_dump(ns.map.to_real(doc))


def test_who_asked_is_recorded_by_the_server_and_cannot_be_rewritten(
    cluster: Cluster, ns: Namespace, admission: None
) -> None:
    requester = Person(cluster, ns, "requester", "deployreq-requester")
    other = Person(cluster, ns, "other", "deployreq-requester")
    _policy_in_force(requester, ns)
    # created claiming alice asked: the server records who did
    ok(requester.kubectl("create", "-n", ns.name, "-f", "-", input=_claiming(ns, "web-2", "alice")))
    assert _requested_by(ns, "web-2") == requester.username
    # a change of anything but the spec keeps it, whoever writes what
    ok(
        other.kubectl(
            "annotate", "--overwrite", "deploymentrequest", "web-2", "-n", ns.name, f"{REQUESTED_BY}=alice"
        )
    )
    assert _requested_by(ns, "web-2") == requester.username
    ok(other.kubectl("annotate", "deploymentrequest", "web-2", "-n", ns.name, f"{REQUESTED_BY}-"))
    assert _requested_by(ns, "web-2") == requester.username
    # a change of the spec is a new ask: its author is recorded, not the name they wrote
    patch = {"metadata": {"annotations": {REQUESTED_BY: "alice"}}, "spec": {"priority": "high"}}
    ok(
        other.kubectl(
            "patch", "deploymentrequest", "web-2", "-n", ns.name, "--type=merge", "-p", json.dumps(patch)
        )
    )
    assert _requested_by(ns, "web-2") == other.username


def test_an_approval_by_who_asked_does_not_count_a_second_approver_must_approve(
    cluster: Cluster, ns: Namespace, policy: str
) -> None:
    both = Person(cluster, ns, "both", "deployreq-requester")
    ok(
        run_kubectl(
            cluster.kubeconfig,
            "create",
            "rolebinding",
            "both-approves",
            "--clusterrole=deployreq-approver",
            f"--serviceaccount={ns.name}:both",
            "-n",
            ns.name,
        )
    )
    second = Person(cluster, ns, "second", "deployreq-approver")
    ns.deployment()
    _policy_in_force(both, ns)
    ok(both.kubectl("create", "-n", ns.name, "-f", "-", input=_claiming(ns, "web-2", second.username)))
    assert _requested_by(ns, "web-2") == both.username
    _held(ns, "web-2", policy)
    # deployreq approve says so up front ...
    refused = both.deployreq("approve", "web-2", "-n", ns.name)
    assert refused.returncode != 0
    assert f'you ({both.username}) asked for deploymentrequest "web-2": your own approval does not count' in (
        refused.stderr
    )
    # ... and an approval made anyway (the API server accepts it: it is in their own name) does not count
    request = ns.get("web-2")
    ok(both.kubectl("create", "-f", "-", input=approval_doc(ns, request, both.username)))
    expected = (
        f"approval by {both.username} does not count: {both.username} asked for this change; another approver "
        "must approve."
    )
    held = ns.wait_request(
        "web-2", lambda r: (r.get("status") or {}).get("message", "").endswith(expected), 30
    )
    assert held["status"]["phase"] == "AwaitingApproval"
    assert ns.images("web") == {"app": "registry.example/web:1.0"}
    events = ns.core.list_namespaced_event(ns.name, field_selector="involvedObject.name=web-2").items
    assert any(e.reason == "SelfApproval" and e.type == "Warning" for e in events), [e.reason for e in events]
    # a second person's approval counts
    ok(second.deployreq("approve", "web-2", "-n", ns.name))
    done = ns.wait_phase("web-2")
    assert done["status"]["phase"] == "Succeeded", done["status"]
    assert done["status"]["approval"]["approver"] == second.username
    assert ns.images("web") == {"app": "registry.example/web:2.0"}
