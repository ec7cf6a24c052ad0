"""The CRDs install the two ways users type it: ``kubectl apply -f crds/`` and ``kubectl apply -k crds/``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.fixtures import Kubectl

pytestmark = pytest.mark.system
CRDS = Path(__file__).resolve().parents[2] / "crds"
CRD = "deploymentrequests.deployreq.dev"
POLICY_CRD = "deploypolicies.deployreq.dev"
APPROVAL_CRD = "deployapprovals.deployreq.dev"


def _established(kubectl: Kubectl) -> None:
    wait = kubectl("wait", "--for=condition=Established", f"crd/{CRD}", "--timeout=10s")
    assert wait.returncode == 0, wait.stderr
    names = json.loads(kubectl("get", "crd", CRD, "-o", "json").stdout)["status"]["acceptedNames"]
    assert names["kind"] == "DeploymentRequest"


def test_kubectl_apply_f_on_the_directory_installs_only_the_crds(kubectl: Kubectl) -> None:
    result = kubectl("apply", "-f", str(CRDS))
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.strip().splitlines()) == [
        f"customresourcedefinition.apiextensions.k8s.io/{APPROVAL_CRD} created",
        f"customresourcedefinition.apiextensions.k8s.io/{CRD} created",
        f"customresourcedefinition.apiextensions.k8s.io/{POLICY_CRD} created",
    ]
    _established(kubectl)


def test_kubectl_apply_k_on_the_directory_installs_the_crd(kubectl: Kubectl) -> None:
    result = kubectl("apply", "-k", str(CRDS))
    assert result.returncode == 0, result.stderr
    assert f"customresourcedefinition.apiextensions.k8s.io/{CRD}" in result.stdout
    _established(kubectl)
    again = kubectl("apply", "-f", str(CRDS))
    assert again.returncode == 0, again.stderr


def test_a_100_kb_value_is_not_echoed_in_the_422_message(kubectl: Kubectl) -> None:
    """As kube-apiserver: field.TooLong omits the value, and kube-openapi stops at maxLength (no pattern echo)."""
    assert kubectl("apply", "-f", str(CRDS)).returncode == 0
    _established(kubectl)
    huge = "a" * 100_000 + "!"  # too long, and not matching the image pattern either
    doc = (
        "apiVersion: deployreq.dev/v1alpha1\nkind: DeploymentRequest\nmetadata: {name: huge, namespace: default}\n"
        f"spec: {{deployment: web, images: [{{container: app, image: '{huge}'}}]}}\n"
    )
    result = kubectl("create", "-f", "-", input=doc)
    assert result.returncode == 1
    assert "spec.images[0].image: Too long: may not be more than 512 bytes" in result.stderr
    assert "aaaa" not in result.stderr
    assert len(result.stderr) < 500, result.stderr[:1000]


def test_kubectl_explain_reads_the_crd_descriptions_from_the_openapi_documents(kubectl: Kubectl) -> None:
    """kubectl explain fetches /openapi/v3 and the group version's document, as from a real server (built-in kinds'
    documents are partial in kubesim: docs/kubesim.md)."""
    assert kubectl("apply", "-f", str(CRDS)).returncode == 0
    _established(kubectl)
    result = kubectl("explain", "deploymentrequests.spec.images.image")
    assert result.returncode == 0, result.stderr
    assert "GROUP:      deployreq.dev" in result.stdout
    assert "FIELD: image <string>" in result.stdout
    assert "The image reference to set, e.g. registry.example/web:1.2." in result.stdout
