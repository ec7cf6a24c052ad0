"""The real kubectl against kubesim: CRDs, custom resources, printer columns and schema errors."""

from __future__ import annotations

import json

import pytest

from tests.kubesim.widgets import CRD_YAML, widget_yaml
from tests.support.fixtures import Kubectl

pytestmark = pytest.mark.system


@pytest.fixture(scope="module", autouse=True)
def widget_crd(kubesim: object) -> None:
    from tests.support import kubectl_binary, run_kubectl

    if kubectl_binary() is None:
        return
    result = run_kubectl(kubesim.kubeconfig, "apply", "-f", "-", input=CRD_YAML)  # type: ignore[attr-defined]
    assert result.returncode == 0, result.stderr
    wait = run_kubectl(
        kubesim.kubeconfig,  # type: ignore[attr-defined]
        "wait",
        "--for=condition=Established",
        "crd/widgets.test.kubesim.dev",
        "--timeout=10s",
    )
    assert wait.returncode == 0, wait.stderr


def test_crd_is_established_with_accepted_names(kubectl: Kubectl) -> None:
    result = kubectl("get", "crd", "widgets.test.kubesim.dev", "-o", "json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)["status"]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions["Established"] == "True"
    assert conditions["NamesAccepted"] == "True"
    assert status["acceptedNames"]["kind"] == "Widget"


def test_get_shows_printer_columns(kubectl: Kubectl) -> None:
    created = kubectl("apply", "-f", "-", input=widget_yaml("cols", size=3, color="green"))
    assert created.returncode == 0, created.stderr
    result = kubectl("get", "widgets")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NAME", "SIZE", "COLOR", "PHASE", "AGE"]
    row = next(r.split() for r in rows if r.startswith("cols "))
    assert row[:3] == ["cols", "3", "green"]
    short = kubectl("get", "wd", "cols", "-o", "name")
    assert short.stdout.strip() == "widget.test.kubesim.dev/cols"


def test_apply_twice_is_unchanged_and_keeps_generation(kubectl: Kubectl) -> None:
    doc = widget_yaml("twice", size=2)
    first = kubectl("apply", "-f", "-", input=doc)
    assert first.returncode == 0, first.stderr
    assert "widget.test.kubesim.dev/twice created" in first.stdout
    before = json.loads(kubectl("get", "widget", "twice", "-o", "json").stdout)
    second = kubectl("apply", "-f", "-", input=doc)
    assert second.returncode == 0, second.stderr
    assert "widget.test.kubesim.dev/twice unchanged" in second.stdout
    after = json.loads(kubectl("get", "widget", "twice", "-o", "json").stdout)
    assert after["metadata"]["generation"] == before["metadata"]["generation"] == 1
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["spec"]["color"] == "blue"  # the schema default


def test_get_yaml_carries_kind_and_metadata(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=widget_yaml("yml", size=4))
    result = kubectl("get", "widget", "yml", "-o", "yaml")
    assert result.returncode == 0, result.stderr
    assert "apiVersion: test.kubesim.dev/v1" in result.stdout
    assert "kind: Widget" in result.stdout
    assert "uid: " in result.stdout and "creationTimestamp: " in result.stdout


def test_invalid_custom_resources_are_rejected_with_the_real_messages(kubectl: Kubectl) -> None:
    negative = kubectl("apply", "-f", "-", input=widget_yaml("neg", size=-1))
    assert negative.returncode != 0
    assert 'The Widget "neg" is invalid' in negative.stderr
    assert "spec.size: Invalid value: -1: spec.size in body should be greater than or equal to 0" in (
        negative.stderr
    )
    big = kubectl("apply", "-f", "-", input=widget_yaml("big", size=20))
    assert big.returncode != 0
    assert "big widgets must be red" in big.stderr
    assert kubectl("get", "widget", "big").returncode != 0


def test_status_is_only_written_through_the_status_subresource(kubectl: Kubectl) -> None:
    kubectl("apply", "-f", "-", input=widget_yaml("st", size=1))
    main = kubectl("patch", "widget", "st", "--type=merge", "-p", '{"status":{"phase":"Main"}}')
    assert main.returncode == 0, main.stderr
    assert "(no change)" in main.stdout
    sub = kubectl(
        "patch", "widget", "st", "--subresource=status", "--type=merge", "-p", '{"status":{"phase":"Done"}}'
    )
    assert sub.returncode == 0, sub.stderr
    got = json.loads(kubectl("get", "widget", "st", "-o", "json").stdout)
    assert got["status"] == {"phase": "Done"}
    assert got["metadata"]["generation"] == 1


def test_delete_waits_for_finalizers(kubectl: Kubectl) -> None:
    doc = widget_yaml("held", size=1).replace("metadata:\n", "metadata:\n  finalizers: [test/hold]\n")
    assert kubectl("apply", "-f", "-", input=doc).returncode == 0
    deleted = kubectl("delete", "widget", "held", "--wait=false")
    assert deleted.returncode == 0, deleted.stderr
    held = json.loads(kubectl("get", "widget", "held", "-o", "json").stdout)
    assert held["metadata"]["deletionTimestamp"]
    release = kubectl(
        "patch", "widget", "held", "--type=json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]'
    )
    assert release.returncode == 0, release.stderr
    gone = kubectl("wait", "--for=delete", "widget/held", "--timeout=10s")
    assert gone.returncode == 0, gone.stderr
    assert "NotFound" in kubectl("get", "widget", "held").stderr
