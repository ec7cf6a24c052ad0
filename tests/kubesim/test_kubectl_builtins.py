"""The real kubectl against kubesim on built-in kinds: apply (client- and server-side), create, replace, the three
patch types, label, annotate, tables, and namespace deletion."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.fixtures import Kubectl

pytestmark = pytest.mark.system

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: {name}}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: main
        image: {image}
        ports:
        - containerPort: 80
      - name: sidecar
        image: busybox:1.36
"""

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  namespace: {ns}
data:
  greeting: {value}
"""


def deployment(name: str, ns: str = "default", image: str = "nginx:1.25", replicas: int = 2) -> str:
    return DEPLOYMENT.format(name=name, ns=ns, image=image, replicas=replicas)


def get_json(kubectl: Kubectl, *args: str) -> Any:
    result = kubectl("get", *args, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def ok(result: Any) -> str:
    assert result.returncode == 0, result.stderr
    return str(result.stdout)


def test_apply_deployment_fills_defaults_and_reapplies_unchanged(kubectl: Kubectl) -> None:
    assert "deployment.apps/apply-me created" in ok(kubectl("apply", "-f", "-", input=deployment("apply-me")))
    dep = get_json(kubectl, "deployment", "apply-me")
    spec = dep["spec"]
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    main = spec["template"]["spec"]["containers"][0]
    assert main["imagePullPolicy"] == "IfNotPresent"
    assert main["terminationMessagePath"] == "/dev/termination-log"
    assert main["ports"][0]["protocol"] == "TCP"
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    again = ok(kubectl("apply", "-f", "-", input=deployment("apply-me")))
    assert "deployment.apps/apply-me unchanged" in again
    assert get_json(kubectl, "deployment", "apply-me")["metadata"]["generation"] == 1


def test_client_side_apply_changes_one_container_by_name(kubectl: Kubectl) -> None:
    ok(kubectl("apply", "-f", "-", input=deployment("csa")))
    out = ok(kubectl("apply", "-f", "-", input=deployment("csa", image="nginx:1.26")))
    assert "deployment.apps/csa configured" in out
    dep = get_json(kubectl, "deployment", "csa")
    images = {c["name"]: c["image"] for c in dep["spec"]["template"]["spec"]["containers"]}
    assert images == {"main": "nginx:1.26", "sidecar": "busybox:1.36"}
    assert dep["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in dep["metadata"]["annotations"]


def test_server_side_apply_records_the_field_manager(kubectl: Kubectl) -> None:
    out = ok(kubectl("apply", "--server-side", "-f", "-", input=deployment("ssa")))
    assert "deployment.apps/ssa serverside-applied" in out
    ok(kubectl("apply", "--server-side", "-f", "-", input=deployment("ssa", replicas=3)))
    dep = get_json(kubectl, "deployment", "ssa", "--show-managed-fields")
    assert dep["spec"]["replicas"] == 3
    managers = {m["manager"] for m in dep["metadata"]["managedFields"]}
    assert "kubectl" in managers
    hidden = get_json(kubectl, "deployment", "ssa")
    assert "managedFields" not in hidden["metadata"]  # kubectl hides them unless asked


def test_generators_send_protobuf_that_kubesim_reads(kubectl: Kubectl) -> None:
    ok(kubectl("create", "configmap", "generated", "--from-literal=a=b", "--from-literal=c=d"))
    assert get_json(kubectl, "configmap", "generated")["data"] == {"a": "b", "c": "d"}
    ok(kubectl("create", "secret", "generic", "hush", "--from-literal=k=v"))
    secret = get_json(kubectl, "secret", "hush")
    assert secret["data"] == {"k": "dg=="} and secret["type"] == "Opaque"
    ok(kubectl("create", "deployment", "gen", "--image=nginx:1.25", "--replicas=2", "--port=8080"))
    dep = get_json(kubectl, "deployment", "gen")
    assert dep["spec"]["replicas"] == 2
    assert dep["spec"]["selector"] == {"matchLabels": {"app": "gen"}}
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "nginx" and container["image"] == "nginx:1.25"
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    ok(kubectl("create", "namespace", "generated-ns"))
    assert get_json(kubectl, "namespace", "generated-ns")["status"]["phase"] == "Active"


def test_create_replace_and_the_three_patch_types(kubectl: Kubectl) -> None:
    ok(kubectl("create", "-f", "-", input=CONFIGMAP.format(name="cm", ns="default", value="hello")))
    again = kubectl("create", "-f", "-", input=CONFIGMAP.format(name="cm", ns="default", value="hello"))
    assert again.returncode != 0
    assert 'configmaps "cm" already exists' in again.stderr
    ok(kubectl("replace", "-f", "-", input=CONFIGMAP.format(name="cm", ns="default", value="replaced")))
    assert get_json(kubectl, "configmap", "cm")["data"] == {"greeting": "replaced"}
    ok(kubectl("patch", "configmap", "cm", "--type=merge", "-p", '{"data":{"extra":"1"}}'))
    ok(kubectl("patch", "configmap", "cm", "--type=json", "-p", '[{"op":"remove","path":"/data/greeting"}]'))
    assert get_json(kubectl, "configmap", "cm")["data"] == {"extra": "1"}

    ok(kubectl("apply", "-f", "-", input=deployment("smp")))
    patch = '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.37"}]}}}}'
    out = ok(kubectl("patch", "deployment", "smp", "-p", patch))  # strategic is kubectl's default
    assert "deployment.apps/smp patched" in out
    containers = get_json(kubectl, "deployment", "smp")["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [
        ("main", "nginx:1.25"),
        ("sidecar", "busybox:1.37"),
    ]
    same = ok(kubectl("patch", "deployment", "smp", "-p", patch))
    assert "(no change)" in same


def test_label_and_annotate(kubectl: Kubectl) -> None:
    ok(kubectl("create", "-f", "-", input=CONFIGMAP.format(name="tagged", ns="default", value="x")))
    ok(kubectl("label", "configmap", "tagged", "tier=web"))
    ok(kubectl("annotate", "configmap", "tagged", "note=hi"))
    meta = get_json(kubectl, "configmap", "tagged")["metadata"]
    assert meta["labels"] == {"tier": "web"}
    assert meta["annotations"]["note"] == "hi"
    listed = ok(kubectl("get", "configmaps", "-l", "tier=web", "-o", "name"))
    assert listed.split() == ["configmap/tagged"]
    clash = kubectl("label", "configmap", "tagged", "tier=db")
    assert clash.returncode != 0
    assert "already has a value (web)" in clash.stderr
    ok(kubectl("label", "configmap", "tagged", "tier-"))
    assert (
        "labels" not in get_json(kubectl, "configmap", "tagged")["metadata"]
        or not (get_json(kubectl, "configmap", "tagged")["metadata"]["labels"])
    )


def test_tables_of_deployments_replicasets_and_pods(kubectl: Kubectl) -> None:
    ok(kubectl("create", "namespace", "tables"))
    ok(kubectl("apply", "-f", "-", input=deployment("tbl", ns="tables", replicas=2)))
    ok(kubectl("rollout", "status", "deployment/tbl", "-n", "tables", "--timeout=20s"))
    out = ok(kubectl("get", "deploy,rs,pods", "-n", "tables"))
    assert "NAME" in out and "READY" in out and "UP-TO-DATE" in out and "AVAILABLE" in out
    assert "deployment.apps/tbl   2/2" in out
    assert "DESIRED" in out and "CURRENT" in out
    pods = [line for line in out.splitlines() if line.startswith("pod/tbl-")]
    assert len(pods) == 2
    assert all("2/2" in line and "Running" in line for line in pods)
    wide = ok(kubectl("get", "deploy", "tbl", "-n", "tables", "-o", "wide"))
    assert "nginx:1.25,busybox:1.36" in wide


def test_delete_namespace_removes_its_objects(kubectl: Kubectl) -> None:
    ok(kubectl("create", "namespace", "doomed"))
    ok(kubectl("create", "-f", "-", input=CONFIGMAP.format(name="inside", ns="doomed", value="x")))
    ok(kubectl("delete", "namespace", "doomed", "--timeout=20s"))
    gone = kubectl("get", "namespace", "doomed")
    assert gone.returncode != 0
    assert 'namespaces "doomed" not found' in gone.stderr
    assert "No resources found" in kubectl("get", "configmaps", "-n", "doomed").stderr


def test_unknown_fields_are_rejected_by_default_and_allowed_with_validate_false(kubectl: Kubectl) -> None:
    doc = deployment("typo").replace(
        "        image: nginx:1.25\n", "        image: nginx:1.25\n        imagee: x\n"
    )
    refused = kubectl("apply", "-f", "-", input=doc)
    assert refused.returncode != 0
    assert (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.template.spec.containers[0].imagee"'
    ) in refused.stderr
    assert "NotFound" in kubectl("get", "deployment", "typo").stderr
    ok(kubectl("apply", "--validate=false", "-f", "-", input=doc))


def test_server_side_apply_conflicts_with_another_manager_until_forced(kubectl: Kubectl) -> None:
    ok(kubectl("create", "-f", "-", input=CONFIGMAP.format(name="owned", ns="default", value="one")))
    same = ok(
        kubectl(
            "apply",
            "--server-side",
            "-f",
            "-",
            input=CONFIGMAP.format(name="owned", ns="default", value="one"),
        )
    )
    assert "configmap/owned serverside-applied" in same  # same value: shared ownership, no conflict
    doc = CONFIGMAP.format(name="owned", ns="default", value="two")
    refused = kubectl("apply", "--server-side", "-f", "-", input=doc)
    assert refused.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl-create" using v1: .data.greeting' in (
        refused.stderr
    )
    ok(kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=doc))
    cm = get_json(kubectl, "configmap", "owned", "--show-managed-fields")
    assert cm["data"] == {"greeting": "two"}
    owners = {
        m["manager"]: m["fieldsV1"] for m in cm["metadata"]["managedFields"] if m["operation"] == "Apply"
    }
    assert owners["kubectl"] == {"f:data": {"f:greeting": {}}}
    creators = [m for m in cm["metadata"]["managedFields"] if m["manager"] == "kubectl-create"]
    assert all("f:greeting" not in (m["fieldsV1"].get("f:data") or {}) for m in creators)


def test_deployment_validation_reports_the_real_messages(kubectl: Kubectl) -> None:
    bad = deployment("bad", replicas=-1).replace(
        "labels: {app: bad}\n    spec:", "labels: {app: other}\n    spec:"
    )
    refused = kubectl("apply", "-f", "-", input=bad)
    assert refused.returncode != 0
    assert 'The Deployment "bad" is invalid:' in refused.stderr
    assert "* spec.replicas: Invalid value: -1: must be greater than or equal to 0" in refused.stderr
    assert (
        # kube-apiserver v1.36 prints the value as JSON (make fidelity, patches/deployment-selector-mismatch)
        '* spec.template.metadata.labels: Invalid value: {"app":"other"}: '
        "`selector` does not match template `labels`"
    ) in refused.stderr
    ok(kubectl("apply", "-f", "-", input=deployment("fixed")))
    moved = '{"spec":{"selector":{"matchLabels":{"app":"z"}},"template":{"metadata":{"labels":{"app":"z"}}}}}'
    immutable = kubectl("patch", "deployment", "fixed", "-p", moved)
    assert immutable.returncode != 0
    assert (
        'spec.selector: Invalid value: {"matchLabels":{"app":"z"}}: field is immutable'
    ) in immutable.stderr
